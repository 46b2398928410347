"""The watch definition: seeds/watch.toml loads, validates and compiles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dyadwatch.watch import Watch, WatchError, fold, load_watch, read_gazetteer
from extractors.tagger import TAGGER_CODE_VERSION

WATCH_FILE = Path(__file__).resolve().parents[2] / "seeds" / "watch.toml"

CATEGORIES = {
    "border_security",
    "militancy",
    "armed_clash",
    "military_cooperation",
    "trade_economy",
    "energy",
    "diplomacy",
    "afghanistan",
    "refugees_migration",
    "connectivity",
    "multilateral",
    "great_power_sanctions",
    "sectarian_religious",
    "humanitarian",
}

MINIMAL = """
[[dyad]]
code = "IR"
name = "Iran"
entity_id = "iran"
adjectives = ["Iranian"]

[[dyad]]
code = "PK"
name = "Pakistan"
entity_id = "pakistan"

[negation]
before = ["not"]

[categories.trade_economy]
description = "Trade."
tone = 3.0
terms = ["bilateral trade"]

[[gazetteer]]
entity_id = "iran"
kind = "actor"
name = "Iran"
country = "IR"

[[gazetteer]]
entity_id = "pakistan"
kind = "actor"
name = "Pakistan"
country = "PK"
"""


@pytest.fixture(scope="module")
def watch() -> Watch:
    return load_watch(WATCH_FILE)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_watch_has_the_dyad_and_all_categories(watch: Watch) -> None:
    assert [c.code for c in watch.dyad] == ["IR", "PK"]
    assert set(watch.categories) == CATEGORIES
    for category in watch.categories.values():
        assert category.description
        assert category.cues, category.name
        assert -10 <= category.tone <= 10


def test_categories_with_urdu_and_persian_cues(watch: Watch) -> None:
    urdu_only = set("ٹڈڑںےھۓہ")  # letters Urdu has and Persian lacks
    for name in [
        "border_security",
        "militancy",
        "armed_clash",
        "trade_economy",
        "energy",
        "diplomacy",
    ]:
        sources = [c.source for c in watch.categories[name].cues]
        arabic = [s for s in sources if any("\u0600" <= ch <= "\u06ff" for ch in s)]
        assert any(set(s) & urdu_only for s in arabic), f"{name}: no Urdu cue"
        assert any(not set(s) & urdu_only for s in arabic), f"{name}: no Persian cue"


@pytest.mark.parametrize(
    ("entity_id", "country", "alias"),
    [
        ("iran", "IR", "ایران"),
        ("pakistan", "PK", "پاکستان"),
        ("tehran", "IR", "تہران"),
        ("tehran", "IR", "تهران"),
        ("islamabad", "PK", "Islamabad"),
        ("irgc", "IR", "IRGC"),
        ("frontier_corps", "PK", "Frontier Corps"),
        ("jaish_al_adl", "IR", "Jaish al-Zulm"),
        ("bla", "PK", "BLA"),
        ("ttp", "PK", "TTP"),
        ("isis_k", "AF", "ISIS-K"),
        ("isgs", "PK", "Inter State Gas Systems"),
        ("nigc", "IR", "National Iranian Gas Company"),
        ("asim_munir", "PK", "Asim Munir"),
        ("abbas_araghchi", "IR", "Abbas Araghchi"),
        ("taliban", "AF", "Taliban"),
    ],
)
def test_gazetteer_actors(watch: Watch, entity_id: str, country: str, alias: str) -> None:
    entity = watch.gazetteer[entity_id]
    assert entity.country == country
    assert alias in entity.aliases


@pytest.mark.parametrize(
    "entity_id",
    [
        "balochistan",
        "sistan_baluchestan",
        "zahedan",
        "saravan",
        "chabahar",
        "gwadar",
        "quetta",
        "panjgur",
        "kech",
        "turbat",
        "mashkel",
        "taftan",
        "mirjaveh",
        "rimdan",
        "gabd",
        "pishin_iran",
        "mand",
        "jiwani",
        "karachi",
        "bandar_abbas",
        "herat",
        "kandahar",
        "kabul",
    ],
)
def test_gazetteer_places_have_coordinates_and_country(watch: Watch, entity_id: str) -> None:
    place = watch.gazetteer[entity_id]
    assert place.kind == "place"
    assert place.country in {"IR", "PK", "AF"}
    assert place.lat is not None and 24 < place.lat < 37
    assert place.lon is not None and 50 < place.lon < 75


def test_border_places_are_on_the_right_side(watch: Watch) -> None:
    g = watch.gazetteer
    assert {g[e].country for e in ["taftan", "gabd", "mand", "panjgur", "kech"]} == {"PK"}
    assert {g[e].country for e in ["mirjaveh", "rimdan", "pishin_iran", "saravan"]} == {"IR"}
    assert all(g[e].dyad_border for e in ["taftan", "mirjaveh", "rimdan", "gabd", "mand"])
    assert not g["pishin_pakistan"].dyad_border  # the district north of Quetta


def test_alert_rules_are_raw_dicts_with_known_references(watch: Watch) -> None:
    assert watch.alert_rules
    ids = [r["id"] for r in watch.alert_rules]
    assert len(ids) == len(set(ids))
    for rule in watch.alert_rules:
        assert isinstance(rule, dict)
        assert set(rule.get("categories", [])) <= CATEGORIES  # source_health: none
        assert 0 <= rule.get("min_relevance", 0) <= 1
        for eid in rule.get("actors", []) + rule.get("places", []):
            assert eid in watch.gazetteer


def test_bundled_alert_rules_parse_and_show_every_kind_and_mode(watch: Watch) -> None:
    from warehouse.alerts import parse_rules

    rules = parse_rules(watch.alert_rules)
    assert {r.kind for r in rules} == {"match", "spike", "source_health"}
    assert any(r.min_outlets == 2 for r in rules)
    assert {r.mode for r in rules} == {"immediate", "digest"}


def test_version_combines_code_version_file_bytes_and_model(tmp_path: Path) -> None:
    data = WATCH_FILE.read_bytes()
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_bytes(data)
    b.write_bytes(data)
    model = tmp_path / "tagger_model.json"
    shutil.copy(WATCH_FILE.parent / "tagger_model.json", model)
    v1 = load_watch(a).version
    assert v1.startswith(TAGGER_CODE_VERSION + "-")
    assert load_watch(b).version == v1  # same bytes, same version
    b.write_bytes(data + b"\n# a comment changes the bytes\n")
    assert load_watch(b).version != v1
    # a retrained model is a new version of the tagger, with the same watch file
    retrained = json.loads(model.read_text(encoding="utf-8"))
    retrained["threshold"] = round(retrained["threshold"] + 0.05, 2)
    model.write_text(json.dumps(retrained), encoding="utf-8")
    assert load_watch(a).version != v1
    assert load_watch(a).model.threshold == retrained["threshold"]


def test_a_missing_or_foreign_model_file_is_a_clear_error(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    a.write_bytes(WATCH_FILE.read_bytes())
    with pytest.raises(WatchError, match="tagger_model.json does not exist"):
        load_watch(a)
    assert load_watch(a, with_model=False).model is None  # the rules alone
    model = json.loads((WATCH_FILE.parent / "tagger_model.json").read_text(encoding="utf-8"))
    model["categories"] = model["categories"][:-1] + ["piracy"]
    (tmp_path / "tagger_model.json").write_text(json.dumps(model), encoding="utf-8")
    with pytest.raises(WatchError, match="trained for categories"):
        load_watch(a)
    (tmp_path / "tagger_model.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(WatchError, match="not JSON"):
        load_watch(a)


def test_minimal_watch_loads_and_dyad_names_become_aliases(tmp_path: Path) -> None:
    watch = load_watch(write(tmp_path, MINIMAL))
    assert "Iranian" in watch.gazetteer["iran"].aliases
    hits = watch.lexicon.scan("Iranian and Pakistan officials discussed bilateral trade.")
    assert {(h.role, getattr(h.data, "entity_id", None)) for h in hits} >= {
        ("entity", "iran"),
        ("entity", "pakistan"),
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[[alert_rules]]\nid = "r"\ndescription = "d"\ncategories = ["nope"]\n',
            "unknown category",
        ),
        (
            '[[alert_rules]]\nid = "r"\ndescription = "d"\ncategories = ["trade_economy"]\n'
            'places = ["atlantis"]\n',
            "not a gazetteer place",
        ),
        (
            '[[gazetteer]]\nentity_id = "iran2"\nkind = "actor"\nname = "Persia"\n'
            'country = "IR"\naliases = ["Iran"]\n',
            "also an alias of iran",
        ),
        (
            '[[gazetteer]]\nentity_id = "x"\nkind = "place"\nname = "X"\ncountry = "PK"\n',
            "lat",
        ),
        (
            '[[gazetteer]]\nentity_id = "y"\nkind = "person"\nname = "Y"\n',
            "kind must be",
        ),
        (
            "[categories.bad]\ndescription = 'd'\npatterns = ['(?:a|b) border']\n",
            "3 literal letters",
        ),
        ("[categories.worse]\ndescription = 'd'\ntone = 42\nterms = ['x']\n", "outside"),
    ],
)
def test_invalid_watch_is_rejected_with_a_clear_message(
    tmp_path: Path, extra: str, message: str
) -> None:
    with pytest.raises(WatchError, match=message):
        load_watch(write(tmp_path, MINIMAL + "\n" + extra))


def test_not_toml_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(WatchError, match="TOML"):
        load_watch(write(tmp_path, "this is [not toml"))


def test_fold_keeps_length_and_unifies_arabic_letters() -> None:
    assert fold("تہران") == fold("تهران")
    assert fold("پاکستان") == fold("پاكستان")  # Arabic kaf
    for s in ["İstanbul", "Iran", "ایران", "ABC"]:
        assert len(fold(s)) == len(s)


def test_term_matching_rules(watch: Watch) -> None:
    def entities(text: str) -> list[tuple[str, str]]:
        hits = watch.lexicon.scan(text)
        return [(h.data.entity_id, text[h.start : h.end]) for h in hits if h.role == "entity"]

    # spaces and hyphens are interchangeable
    assert ("rimdan_gabd_crossing", "Rimdan Gabd") in entities("the Rimdan Gabd crossing")
    # acronyms are case-sensitive: "bla" is not the BLA
    assert ("bla", "BLA") in entities("The BLA claimed it.")
    assert not [e for e in entities("bla bla bla") if e[0] == "bla"]
    # Urdu/Persian words match with their inflections, not inside other words
    assert ("pakistan", "پاکستانی") in entities("مقامات پاکستانی")
    assert not [e for e in entities("ایرانشهر") if e[0] == "iran"]


def test_fold_replaces_arabic_variants_like_translate() -> None:
    from dyadwatch.watch import ARABIC_FOLD, fold

    text = "يك كتاب ہے، أمير إيران آمد ۀ ة ٱ — Iran and Pakistan"
    assert fold(text) == text.lower().translate(ARABIC_FOLD)
    assert len(fold(text)) == len(text)
    assert fold("Border trade") == "border trade"


def test_read_gazetteer_is_load_watchs_gazetteer_without_matchers(tmp_path: Path) -> None:
    """The load refreshes ``entities`` from ``read_gazetteer``: the same entities (dyad
    names among the aliases), the same gazetteer problems rejected."""
    assert read_gazetteer(WATCH_FILE) == list(load_watch(WATCH_FILE).gazetteer.values())
    minimal = write(tmp_path, MINIMAL)
    assert "Iranian" in {
        a for e in read_gazetteer(minimal) if e.entity_id == "iran" for a in e.aliases
    }
    broken = '[[gazetteer]]\nentity_id = "x"\nkind = "place"\nname = "X"\ncountry = "PK"\n'
    with pytest.raises(WatchError, match="lat"):
        read_gazetteer(write(tmp_path, MINIMAL + "\n" + broken))
