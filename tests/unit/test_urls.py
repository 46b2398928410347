from extractors.urls import canonical_url


def test_tracking_parameters_fragments_case_and_default_ports_go():
    got = canonical_url("HTTP://WWW.Dawn.com:80/news/1?utm_source=rss&id=7&fbclid=x#comments")
    assert got == "http://www.dawn.com/news/1?id=7"


def test_content_parameters_stay_in_order():
    assert canonical_url("https://x.example/a?b=2&a=1") == "https://x.example/a?b=2&a=1"


def test_non_default_port_stays_and_empty_path_becomes_slash():
    assert canonical_url("https://x.example:8443") == "https://x.example:8443/"
