// The page of `mlp serve` in a real browser: headless Chromium, driven by playwright-core,
// draws a digit with pointer events, reads what the page displays, chooses a true answer and
// reads the wishes table, picks a test image, and saves screenshots (a desktop-sized window
// and a phone-sized one). tests/test_browser.c runs it and checks what it read against mlp.
//
//   node tests/browser.js PLAYWRIGHT_DIR URL OUT_DIR [CLASS]
//
// PLAYWRIGHT_DIR holds node_modules/playwright-core (npm install --prefix DIR playwright-core);
// MLP_CHROMIUM names the browser (default /usr/bin/chromium). CLASS is the true answer to
// choose (default: the class the page displays). Writes OUT_DIR/page.png, OUT_DIR/phone.png
// and prints one JSON line: {"class", "pixels", "label", "wishes", "test_class", "test_label"}.
"use strict";
const path = require("path");

async function main() {
  const [dir, url, out, wanted] = process.argv.slice(2);
  const { chromium } = require(path.resolve(dir, "node_modules", "playwright-core"));
  const browser = await chromium.launch({
    executablePath: process.env.MLP_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    timeout: 120000,
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.setDefaultTimeout(60000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForSelector("body[data-ready='1']");

    // a 7: a bar across the top and a stroke down to the left, as a hand would move
    const box = await page.locator("#pad").boundingBox();
    const P = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
    await page.mouse.move(...P(0.28, 0.22));
    await page.mouse.down();
    await page.mouse.move(...P(0.72, 0.22), { steps: 12 });
    await page.mouse.move(...P(0.45, 0.82), { steps: 16 });
    await page.mouse.up();
    const settled = async () => {
      // the answer to the last request: the class shown stays the same for a second
      let before = null;
      for (let k = 0; k < 120; k++) {
        const now = await page.locator("#predicted").textContent();
        if (now === before && now !== "?") return now;
        before = now;
        await page.waitForTimeout(1000);
      }
      throw new Error("the page never showed a class");
    };
    const cls = Number(await settled());
    const pixels = await page.evaluate(() => window.mlpDrawing());
    const label = wanted === undefined ? cls : Number(wanted);
    await page.locator(`#classes button[data-k='${label}']`).click();
    await page.waitForSelector("#wishes");
    await page.waitForTimeout(1500);
    const wishes = await page.$$eval("#wishes tr", (rows) =>
      rows.slice(1).map((r) => r.cells[3].textContent));
    await page.screenshot({ path: path.join(out, "page.png") }); // the window, as a user sees it

    await page.setViewportSize({ width: 390, height: 844 });
    let testClass = null, testLabel = null;
    if (await page.locator("#picker").isVisible()) {
      await page.locator("#index").fill("0");
      await page.locator("#show").click();
      await page.waitForFunction(() => document.getElementById("truth").textContent !== "");
      await page.waitForTimeout(1500);
      testClass = Number(await page.locator("#predicted").textContent());
      testLabel = Number((await page.locator("#truth").textContent()).match(/labelled (\d+)/)[1]);
    }
    await page.screenshot({ path: path.join(out, "phone.png"), fullPage: true });
    if (errors.length) throw new Error("the page failed: " + errors.join("; "));
    console.log(JSON.stringify({ class: cls, pixels, label, wishes, test_class: testClass,
                                 test_label: testLabel }));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error("browser.js: " + (e && e.message ? e.message : e));
  process.exit(1);
});
