// Logs in to Airflow's UI as a user, opens the Secrets page from the navigation (it is
// shown in an iframe inside Airflow's UI), runs one lookup and saves a screenshot.
// Prints one JSON object: what the test checks. Usage:
//   node secrets_page.js BASE_URL USER PASSWORD SCREENSHOT.png USER_DATA_DIR
"use strict";
const { chromium } = require("playwright-core");

const [base, user, password, screenshot, userDataDir] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const flags = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

async function main() {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath, headless: true, args: flags, viewport: { width: 1400, height: 1300 },
  });
  try {
    context.setDefaultTimeout(60000);
    const page = context.pages()[0] || (await context.newPage());
    await page.goto(`${base}/`);
    await page.fill('input[name="username"]', user);
    await page.fill('input[name="password"]', password);
    await page.click('button[type="submit"]');
    await page.waitForURL((url) => !url.pathname.startsWith("/auth"));

    // Through the navigation: Admin, then Secrets.
    await page.getByRole("button", { name: "Admin" }).click();
    await page.getByRole("menuitem", { name: "Secrets" }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/plugin/"));
    const frame = await (await page.waitForSelector("iframe")).contentFrame();
    await frame.waitForFunction(() => {
      const done = (id) => document.querySelector(`#${id} tbody`).textContent.trim() !== "";
      return ["stores", "connections", "variables", "db", "audit"].every(done);
    });
    await frame.fill("#q", "warehouse");
    await frame.click('#lookup button[type="submit"]');
    await frame.waitForSelector("#lookup-result");
    await page.screenshot({ path: screenshot });
    const text = (selector) => frame.locator(selector).innerText();
    const out = {
      url: page.url(),
      frameUrl: frame.url(),
      tables: {
        stores: await text("#stores"),
        connections: await text("#connections"),
        variables: await text("#variables"),
        db: await text("#db"),
        lookup: await text("#lookup-result"),
        audit: await text("#audit"),
      },
      banner: await text("#banner"),
      html: (await page.content()) + (await frame.content()),
    };
    process.stdout.write(JSON.stringify(out));
  } finally {
    await context.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
