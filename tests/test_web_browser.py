"""End to end in a real headless browser (Debian's chromium, driven by Selenium through Debian's
chromedriver; nothing downloaded): load the page, click a commune to add a site there, read the
totals the page shows and compare them with ``access site --add-commune`` for the same
scenario; click the new site to remove it and get today's numbers back. A screenshot after the
click is saved as a test artefact; the click-to-map latencies are printed and recorded.

Skips, with the reason, when chromium, chromedriver or selenium is missing.
"""

from __future__ import annotations

import json
import os
import shutil
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.cli.main import cli
from accessibility.outputs.maps import fr_number

from .web_support import ARTIFACTS, REPO, LiveServer, chromium_driver, load_planner, record

pytestmark = pytest.mark.slow

#: Fields of the totals table, with the decimals and unit the page shows them with.
SHOWN = {
    "communes_beyond": (0, ""),
    "population_beyond": (0, ""),
    "share_population_beyond": (1, " %"),
    "mean_minutes": (1, " min"),
    "weighted_mean_minutes": (1, " min"),
}


def _norm(text: str) -> str:
    """The page's text with every kind of space made one (Intl uses U+202F or U+00A0)."""
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


@pytest.fixture(scope="module")
def browser():
    with chromium_driver(host_rules="MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", downloads=True) as driver:
        yield driver


@pytest.fixture(scope="module")
def page(cache_dir, browser):
    from accessibility.web.app import LOOPBACK_HOSTS, create_app

    planner = load_planner(cache_dir)
    planner.warm()
    with LiveServer(create_app(planner, allowed_hosts=LOOPBACK_HOSTS)) as srv:
        yield planner, srv, browser


def _wait_updates(driver, after: int, timeout: float = 20.0) -> int:
    from selenium.webdriver.support.ui import WebDriverWait

    def done(d):
        body = d.find_element("tag name", "body")
        n = int(body.get_attribute("data-updates") or 0)
        return n if n > after and body.get_attribute("data-state") == "ready" else False

    return WebDriverWait(driver, timeout).until(done)


def _updates(driver) -> int:
    return int(driver.find_element("tag name", "body").get_attribute("data-updates") or 0)


def _shown(driver, when: str) -> dict:
    out = {}
    for key in SHOWN:
        cell = driver.find_element("id", f"tot-{when}-{key}")
        out[key] = (_norm(cell.text), float(cell.get_attribute("data-value")))
    return out


def _click_at(driver, lon: float, lat: float) -> None:
    """A real mouse click on the map at (lon, lat)."""
    from selenium.webdriver.common.action_chains import ActionChains

    x, y, w, h = driver.execute_script(
        "const p = accessPage.map.latLngToContainerPoint([arguments[1], arguments[0]]);"
        "const r = document.getElementById('map').getBoundingClientRect(); return [p.x, p.y, r.width, r.height];",
        lon, lat)
    assert 0 < x < w and 0 < y < h, (x, y, w, h)
    ActionChains(driver).move_to_element_with_offset(
        driver.find_element("id", "map"), int(round(x - w / 2)), int(round(y - h / 2))).click().perform()


def _as_shown(x: float, decimals: int) -> str:
    """``x`` rounded as the browser's Intl.NumberFormat does (half away from zero, on the exact
    value of the double), in French."""
    q = Decimal(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return fr_number(float(q), decimals)


def _expected(cli_totals: pd.DataFrame, when: str) -> dict:
    """What the page must show for a row of ``access site``'s totals.csv: text and exact value."""
    t = cli_totals.loc[when]
    return {k: (_norm(_as_shown(float(t[k]), d) + unit), float(t[k])) for k, (d, unit) in SHOWN.items()}


def test_click_a_commune_equals_access_site_and_back(page, cache_dir, tmp_path):
    import shapely

    planner, srv, driver = page
    driver.get(srv.url + "/")
    _wait_updates(driver, 0)
    # the commune: the most populous one beyond the threshold today (a site there changes the totals)
    base = pd.DataFrame(json.loads(planner.base_json)["communes"])
    row = base[base["beyond"] == True].sort_values("population", ascending=False).iloc[0]  # noqa: E712
    code = row["code"]
    poly = planner.polygons.set_index("code").geometry[code]
    inside = shapely.get_coordinates(poly.representative_point())[0]

    out = tmp_path / "site"
    r = CliRunner().invoke(cli, ["site", "--add-commune", code, "--no-maps", "--out", str(out), "--cache-dir", str(cache_dir)])
    assert r.exit_code == 0, r.output
    cli_totals = pd.read_csv(out / "totals.csv").set_index("when")

    assert not driver.find_element("id", "colour-by").is_displayed()  # no --tier: one colouring
    today = _shown(driver, "before")
    assert today == _expected(cli_totals, "before")
    assert _shown(driver, "after") == today  # no what-if yet

    n = _updates(driver)
    _click_at(driver, *inside)
    n = _wait_updates(driver, n)
    shown = _shown(driver, "after")
    assert shown == _expected(cli_totals, "after"), (shown, _expected(cli_totals, "after"))
    assert shown != today
    add_ms = float(driver.find_element("tag name", "body").get_attribute("data-last-click-ms"))
    add_server = float(driver.find_element("tag name", "body").get_attribute("data-last-server-ms"))
    assert json.loads(driver.execute_script("return JSON.stringify(accessPage.scenario)"))["add_communes"] == [code]
    entering = [li.get_attribute("data-code") for li in driver.find_elements("css selector", "#crossings-enters li")]
    assert code in entering
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "serve-after-click.png"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("ACCESS_UPDATE_DOCS_IMG"):
        shutil.copy(shot, REPO / "docs" / "img" / "serve-page.png")

    # click the new site (at the commune's centre): removed, today's numbers back
    _click_at(driver, float(row["lon"]), float(row["lat"]))
    _wait_updates(driver, n)
    assert _shown(driver, "after") == today
    assert driver.find_elements("css selector", "#crossings-enters li") == []
    rm_ms = float(driver.find_element("tag name", "body").get_attribute("data-last-click-ms"))
    rm_server = float(driver.find_element("tag name", "body").get_attribute("data-last-server-ms"))

    # a few more clicks, for the latency: each of the next beyond communes, added then removed
    samples = [(add_ms, add_server), (rm_ms, rm_server)]
    for _, c in base[base["beyond"] == True].sort_values("population", ascending=False).iloc[1:4].iterrows():  # noqa: E712
        p = shapely.get_coordinates(planner.polygons.set_index("code").geometry[c["code"]].representative_point())[0]
        for lon, lat in ((p[0], p[1]), (float(c["lon"]), float(c["lat"]))):
            n = _updates(driver)
            _click_at(driver, lon, lat)
            _wait_updates(driver, n)
            body = driver.find_element("tag name", "body")
            samples.append((float(body.get_attribute("data-last-click-ms")), float(body.get_attribute("data-last-server-ms"))))
    assert _shown(driver, "after") == today
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
    clicks = sorted(s for s, _ in samples)
    report = {"clicks": len(samples), "click_to_map_ms": [round(s, 1) for s, _ in samples],
              "server_ms": [round(s, 1) for _, s in samples], "max_click_to_map_ms": round(max(clicks), 1),
              "commune": code, "cpu_count": os.cpu_count()}
    record("serve-browser-latency", report)
    print(f"\nbrowser clicks (click -> map updated, ms): {report['click_to_map_ms']}; server ms: {report['server_ms']}")


def test_best_next_site_point_mode_errors_and_export(page):
    """The rest of the page, as a person would use it: "meilleur site suivant" then adding its
    pick, a site at a clicked point, a click far from any road (refused, the scenario kept),
    and the CSV export downloaded."""
    from selenium.webdriver.support.ui import WebDriverWait

    planner, srv, driver = page
    driver.get(srv.url + "/")
    n = _wait_updates(driver, 0)
    driver.find_element("css selector", '#best-buttons button[data-k="1"]').click()
    WebDriverWait(driver, 30).until(lambda d: d.find_elements("css selector", "#best ol li"))
    pick = driver.find_element("css selector", "#best ol li").text
    driver.find_element("xpath", "//button[text()='Ajouter ces sites au scénario']").click()
    n = _wait_updates(driver, n)
    added = json.loads(driver.execute_script("return JSON.stringify(accessPage.scenario)"))["add_communes"]
    assert len(added) == 1 and f"({added[0]})" in pick

    driver.find_element("css selector", 'input[name="mode"][value="point"]').click()
    base = pd.DataFrame(json.loads(planner.base_json)["communes"])
    far = base[(base["minutes"] > 20) & ~base["code"].isin(added)].iloc[0]  # no site marker near its centre
    _click_at(driver, float(far["lon"]), float(far["lat"]))  # a commune's centre: placed on a road
    n = _wait_updates(driver, n)
    sc = json.loads(driver.execute_script("return JSON.stringify(accessPage.scenario)"))
    assert len(sc["add_points"]) == 1 and sc["add_communes"] == added
    _click_at(driver, 6.3, 44.3)  # 1.1 km from the nearest road
    n = _wait_updates(driver, n)
    msg = driver.find_element("id", "message")
    assert msg.is_displayed() and "trop loin de toute route" in msg.text
    assert json.loads(driver.execute_script("return JSON.stringify(accessPage.scenario)")) == sc  # kept
    assert "#s=" in driver.current_url  # the tab's scenario is in its address

    driver.find_element("css selector", '[data-export="csv"]').click()
    WebDriverWait(driver, 20).until(lambda d: (d.downloads / "scenario-communes.csv").exists())
    df = pd.read_csv(driver.downloads / "scenario-communes.csv", dtype={"code": str})
    assert len(df) == 360 and (df["site_after"].astype(str).str.startswith("point-")).any()


def test_the_address_keeps_the_scenario(page):
    """A link with a scenario (#s=...) opens on it; a refused one opens on today, saying why."""
    from urllib.parse import quote

    planner, srv, driver = page
    code = str(planner.model.communes.ids[0])
    for scenario, shown in (({"add_communes": [code]}, [code]), ({"add_communes": ["99999"]}, [])):
        driver.get("about:blank")
        driver.get(srv.url + "/#s=" + quote(json.dumps(scenario)))
        _wait_updates(driver, 0)
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 20).until(lambda d: d.execute_script("return accessPage.result !== null"))
        got = json.loads(driver.execute_script("return JSON.stringify(accessPage.scenario)"))
        assert got["add_communes"] == shown
        msg = driver.find_element("id", "message")
        assert (msg.is_displayed() and "99999" in msg.text) == (not shown), msg.text


def test_tier_colours_by_the_gamme_and_switches_to_the_sites(cache_dir, browser):
    """``access serve --tier``: the page opens coloured by the gamme's mean time (its classes, its
    zones grises outlined), says so in the legend, and switches to the time to the nearest site."""
    from accessibility.web.app import LOOPBACK_HOSTS, create_app

    planner = load_planner(cache_dir, tier="intermediaire")
    base = json.loads(planner.base_json)
    communes = pd.DataFrame(base["communes"])
    # a commune in a zone grise of the gamme that is within the threshold of a site: outlined only by the gamme
    row = communes[(communes["gamme_beyond"] == True) & (communes["beyond"] == False)].iloc[0]  # noqa: E712
    code = row["code"]
    edges, colors = base["gamme"]["classes"]["edges"], base["classes"]["colors"]
    gamme_colour = colors[max(i for i, e in enumerate(edges) if row["gamme_minutes"] >= e)]
    site_edges = base["classes"]["edges"]
    site_colour = colors[max(i for i, e in enumerate(site_edges) if row["minutes"] >= e)]
    style = "const o = accessPage.layers[arguments[0]].options; return [o.fillColor, o.color];"
    with LiveServer(create_app(planner, allowed_hosts=LOOPBACK_HOSTS)) as srv:
        driver = browser
        driver.get("about:blank")
        driver.get(srv.url + "/")
        _wait_updates(driver, 0)
        body = driver.find_element("tag name", "body")
        assert body.get_attribute("data-colour") == "gamme"
        assert driver.find_element("id", "colour-by").is_displayed()
        assert "gamme intermédiaire" in driver.find_element("css selector", ".legend .title").text
        assert driver.execute_script(style, code) == [gamme_colour, "#111"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "serve-tier.png"
        driver.save_screenshot(str(shot))
        if os.environ.get("ACCESS_UPDATE_DOCS_IMG"):
            shutil.copy(shot, REPO / "docs" / "img" / "serve-tier.png")
        driver.find_element("css selector", '#colour-by input[value="sites"]').click()
        assert body.get_attribute("data-colour") == "sites"
        assert "site le plus proche" in driver.find_element("css selector", ".legend .title").text
        assert driver.execute_script(style, code) == [site_colour, "#ffffff"]
