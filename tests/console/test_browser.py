"""The console in a real headless Chromium (the OS's chromium + chromedriver, driven by selenium):
sign-in as buyer, guide and admin through the (fake) WeCom authorize page and the token form, each
page's numbers against the admin API's JSON, and screenshots at phone and desktop sizes kept in
var/screenshots/ (their path is printed at the end of the run).

The service runs on this test's event loop, so every blocking driver call goes through a thread.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import pytest

from tests.console.helpers import AUTH, ROOT, console_config, seeded, start

SHOTS = ROOT / "var" / "screenshots"
PHONE, DESKTOP = (390, 844), (1280, 900)
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the test extra is not installed
    webdriver = None

pytestmark = pytest.mark.skipif(
    webdriver is None or not CHROMIUM or not DRIVER,
    reason="no headless browser here: install chromium and chromium-driver (apt-get install -y chromium "
           "chromium-driver) and the test extra (selenium) to run the console's browser tests")


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-CN",
                "--window-size=1280,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


class Page:
    """Blocking selenium calls, run off the event loop the service needs."""

    def __init__(self, driver, base: str) -> None:
        self.d, self.base = driver, base

    async def run(self, fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def go(self, path: str) -> None:
        await self.run(self.d.get, self.base + path)

    async def click(self, css: str) -> None:
        await self.run(lambda: self.d.find_element(By.CSS_SELECTOR, css).click())

    async def text(self, css: str) -> str:
        return await self.run(lambda: self.d.find_element(By.CSS_SELECTOR, css).text)

    async def texts(self, css: str) -> list[str]:
        return await self.run(lambda: [e.text for e in self.d.find_elements(By.CSS_SELECTOR, css)])

    async def attrs(self, css: str, name: str) -> list[str]:
        return await self.run(lambda: [e.get_attribute(name) for e in self.d.find_elements(By.CSS_SELECTOR, css)])

    async def wait(self, css: str, timeout: float = 15) -> None:
        await self.run(lambda: WebDriverWait(self.d, timeout).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, css)))

    async def url(self) -> str:
        return await self.run(lambda: self.d.current_url)

    async def shots(self, name: str) -> list[Path]:
        """The page as a phone (390x844, touch, 2x) and as a desktop browser show it."""
        out = []
        for label, (w, h), mobile in (("phone", PHONE, True), ("desktop", DESKTOP, False)):
            def take(w=w, h=h, mobile=mobile, label=label):
                self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                       {"width": w, "height": h, "deviceScaleFactor": 2 if mobile else 1,
                                        "mobile": mobile})
                time.sleep(0.3)  # the page's resize handler redraws its charts at the new width
                path = SHOTS / f"{name}-{label}.png"
                self.d.save_screenshot(str(path))
                return path
            out.append(await self.run(take))
        await self.run(lambda: self.d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {}))
        for p in out:
            assert p.stat().st_size > 5000, f"{p} looks blank"
        return out

    async def sign_in_wecom(self, userid: str, path: str) -> None:
        await self.run(self.d.delete_all_cookies)
        await self.go(path)
        assert "/console/login" in await self.url()
        await self.click("#wecom-login")
        await self.wait(f'[id="pick-{userid}"]')  # the fake WeCom's authorize page
        await self.click(f'[id="pick-{userid}"]')
        await self.wait("#who")


@pytest.fixture
async def site(aiohttp_client, redis, prefix, fake, browser):
    config = console_config(prefix, fake.base_url)
    client, store, deps = await start(aiohttp_client, redis, fake, config)
    await seeded(store, config)
    base = str(client.server.make_url("")).rstrip("/")
    return Page(browser, base), client, store


async def api(client, path: str) -> dict:
    r = await client.get(path, headers=AUTH)
    assert r.status == 200, path
    return await r.json()


async def test_buyer_demand_page_in_a_browser(site):
    page, client, _ = site
    await page.sign_in_wecom("buyer1", "/console/demand")
    assert (await page.url()).split("#")[0].endswith("/console/demand")
    day = (await page.attrs('input[name="date"]', "value"))[0]
    digest = await api(client, f"/api/digest?date={day}")
    h = digest["header"]
    for key in ("tuan_formed", "tuan_failed", "qty", "unmet_askers", "wish_askers", "open"):
        assert await page.text(f'#header [data-k="{key}"]') == str(h[key]), key
    skus = await page.attrs("#skus tbody tr[data-sku]", "data-sku")
    assert skus == [r["key"] for r in digest["skus"][:50]]
    qty = await page.texts('#skus tbody tr[data-sku] > td[data-k="qty"]')
    assert qty == [str(r["qty"]) for r in digest["skus"][:50]]
    assert await page.attrs("#unmet li[data-sku]", "data-sku") == [r["sku"] for r in digest["unmet"]]
    await page.wait('.chart[data-drawn="1"]')  # uPlot, served from the package, drew the trend
    await page.shots("buyer-demand")
    # the store filter, by the form, gives the store's digest
    await page.run(lambda: page.d.find_element(By.CSS_SELECTOR, '#f-store option[value="S02"]').click())
    await page.click("#filters button")
    await page.wait('.chart[data-drawn="1"]')
    s02 = await api(client, f"/api/digest?store=S02&date={day}")
    assert await page.text('#header [data-k="qty"]') == str(s02["header"]["qty"])
    href = await page.attrs("#export-xlsx", "href")
    assert "store=S02" in href[0] and "format=xlsx" in href[0]


async def test_guide_runs_a_tuan_in_a_browser(site):
    page, client, store = site
    await page.sign_in_wecom("xiaowang", "/console/tuans")
    open_s01 = await api(client, "/api/groupbuys?status=open&store=S01")
    ids = await page.attrs("#tuans li[data-id]", "data-id")
    assert sorted(map(int, ids)) == sorted(g["id"] for g in open_s01["groupbuys"])
    await page.shots("guide-tuans")
    gid = int(ids[0])
    await page.go(f"/console/tuans/{gid}")
    detail = await api(client, f"/api/groupbuys/{gid}")
    active = [x for x in detail["lines"] if x["status"] == "active"]
    assert await page.attrs("#lines tr[data-no]", "data-no") == [str(x["no"]) for x in active]
    assert await page.texts('#lines tr[data-no] td[data-k="qty"]') == [str(x["qty"]) for x in active]
    assert await page.text('#tuan [data-k="total"]') == str(detail["groupbuy"]["total"])
    await page.shots("guide-tuan")
    await page.click("#close")
    await page.wait("#confirm")
    await page.shots("guide-close-preview")
    await page.click("#confirm")
    await page.wait("#done")
    assert (await api(client, f"/api/groupbuys/{gid}"))["groupbuy"]["status"] == "closed"
    assert await page.attrs("#tuan", "data-status") == ["closed"]
    await page.go(f"/console/tuans/{gid}/sheet")
    await page.wait("#pickup-sheet")
    await page.shots("guide-pickup-sheet")
    campaigns = await api(client, "/api/coupons/campaigns?store_id=S01")
    await page.go("/console/coupons")
    assert await page.attrs("#campaigns li[data-id]", "data-id") == [c["id"] for c in campaigns["campaigns"]]
    c = campaigns["campaigns"][0]
    await page.go(f"/console/coupons/{c['id']}")
    await page.wait('.chart[data-drawn="1"]')
    assert await page.text('#campaign [data-k="issued"]') == str(c["issued"])
    assert await page.text('#campaign [data-k="redeemed"]') == str(c["redeemed"])
    await page.shots("guide-coupon")
    await page.go("/console/catalog")
    await page.shots("guide-catalog")
    # another guide's 团 is not there for this one
    other = (await api(client, "/api/groupbuys?status=open&store=S02"))["groupbuys"][0]["id"]
    await page.go(f"/console/tuans/{other}")
    assert await page.attrs("#error", "data-status") == ["404"]


async def test_admin_signs_in_with_the_token(site):
    page, client, store = site
    await page.run(page.d.delete_all_cookies)
    await page.go("/console/engineer/health")
    await page.click("details summary")
    await page.run(lambda: page.d.find_element(By.ID, "token").send_keys("wrong"))
    await page.click("#token-login")
    await page.wait("#failed")
    await page.click("details summary")
    await page.run(lambda: page.d.find_element(By.ID, "token").send_keys("test-admin-token"))
    await page.click("#token-login")
    await page.wait("#health")
    health = await (await client.get("/healthz")).json()
    assert await page.attrs("#health", "data-ok") == [str(int(health["ok"]))]
    assert set(await page.attrs("#health [data-check]", "data-check")) == set(health["checks"])
    await page.shots("admin-health")
    await store.r.xadd(store.keys.dead("outbox"), {"d": json.dumps({"channel": "app", "to": "xiaowang",
                                                                     "content": "团12 已成团"}, ensure_ascii=False),
                                                    "reason": "errcode 81013 user invalid", "from": "1-1",
                                                    "k": "app:xiaowang"})
    await page.go("/console/engineer/dead")
    assert await page.text("#dead-count") == "1"
    await page.shots("admin-dead-letters")
    await page.click("#letters button.replay")
    await page.wait("#done")
    assert await page.attrs("#done", "data-done") == ["replayed"]
    assert await store.r.xlen(store.keys.dead("outbox")) == 0
    await page.go("/console/engineer/stores")
    await page.wait("#check-result", timeout=30)  # htmx loaded the `qunbot check` lines
    assert "access token fetched" in await page.text("#check-result")
    assert await page.attrs("#stores tr[data-store]", "data-store") == ["S01", "S02", "S03"]
    await page.shots("admin-stores")
    # the admin sees buyers' and guides' pages too, over every store
    await page.go("/console/demand")
    day = (await page.attrs('input[name="date"]', "value"))[0]
    digest = await api(client, f"/api/digest?date={day}")
    assert await page.text('#header [data-k="qty"]') == str(digest["header"]["qty"])
    await page.wait("#changes-list")  # htmx loaded what changed since the freeze


@pytest.fixture(scope="module", autouse=True)
def _report_screenshots(request):
    yield
    if SHOTS.exists() and any(SHOTS.iterdir()):
        tr = request.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line(f"console screenshots: {SHOTS}")
