"""dyadwatch: settings, record types, the watch definition and the command line."""
