// The built site as a reader sees it, in headless Debian Chromium driven by playwright-core.
// ci/browser-test serves target/book on 127.0.0.1 and runs this file with `node --test`.
//
// Environment: SITE_URL (the served site, ending in /), CHROMIUM (the browser binary),
// ARTIFACTS (where screenshots go), CI (=true: the site was built after a full test run, so the
// requirement checked here must be verified and its tests passed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const SITE = process.env.SITE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.ARTIFACTS || 'target/browser-artifacts';
const IN_CI = process.env.CI === 'true';
// A real requirement of the book; renaming it means updating this test.
const ID = 'identity.passwd.current-user';
const ANCHOR = `req-${ID}`;
const STATUSES = ['verified', 'unimplemented', 'untested', 'failing', 'stale'];
const OUTCOMES = ['passed', 'failed', 'skipped', 'not-run'];
const THEMES = ['light', 'rust', 'coal', 'navy', 'ayu'];

assert.ok(SITE && SITE.endsWith('/'), 'SITE_URL must be set to the served site, ending in /');

let context;
let profile;
const pageErrors = [];

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'locald-site-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // The machine's network is closed: no background connections, no first-run work.
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(15000);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(SITE).origin });
});

after(async () => {
  if (context) { await context.close(); }
  if (profile) { fs.rmSync(profile, { recursive: true, force: true }); }
});

/** A new page at `rel` of the site, in `theme`, recording script errors. */
async function open(rel, theme = 'light') {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${rel}: ${e.message}`));
  await page.addInitScript((t) => localStorage.setItem('mdbook-theme', t), theme);
  await page.goto(new URL(rel, SITE).href);
  await page.waitForLoadState('load');
  return page;
}

/** Screenshot options: the file and, for an element, no sticky menu bar drawn over it. */
function shot(name, element = false) {
  const file = { path: path.join(ARTIFACTS, `${name}.png`) };
  return element ? { ...file, style: '#mdbook-menu-bar { visibility: hidden; }' } : file;
}

test('a requirement box renders with its level, status badge, snippet and test outcomes', async () => {
  const page = await open('identity.html');
  const box = page.locator(`.requirement[data-id="${ID}"]`);
  assert.equal(await box.count(), 1, 'one box for the requirement');
  assert.equal(await box.locator('.req-title').getAttribute('id'), ANCHOR, 'permanent anchor');
  assert.equal((await box.locator('.req-level').textContent()).trim(), 'MUST');

  const badge = box.locator('.req-head .req-status');
  assert.ok(await badge.isVisible(), 'status badge visible');
  const status = (await badge.textContent()).trim().toLowerCase();
  assert.ok(STATUSES.includes(status), `known status, got "${status}"`);
  if (IN_CI) {
    assert.equal(status, 'verified', 'built after the full test run, the requirement is verified');
  }

  assert.match(await box.locator('.req-action').textContent(), /\/etc\/passwd/);
  const sources = box.locator('.req-provenance a.req-cite');
  assert.ok((await sources.count()) >= 1, 'provenance');
  assert.match(await sources.first().getAttribute('href'), /^https:\/\//);

  // The snippet is collapsed; its summary opens it.
  const impl = box.locator('details.req-impl').first();
  const code = impl.locator('pre code');
  assert.equal(await code.isVisible(), false, 'snippet collapsed at first');
  await impl.locator('summary').click();
  assert.ok(await code.isVisible(), 'snippet shown after a click');
  assert.match(await code.textContent(), /\bfn \w+/);

  const tests = box.locator('details.req-tests');
  if (!(await tests.getAttribute('open'))) { await tests.locator('summary').click(); }
  const outcomes = await box.locator('.req-tests li .req-outcome').allTextContents();
  assert.ok(outcomes.length >= 1, 'linked tests listed');
  for (const o of outcomes) {
    const word = o.trim().split(/\s+/).pop();
    assert.ok(OUTCOMES.includes(word), `known outcome, got "${o}"`);
    if (IN_CI) { assert.equal(word, 'passed'); }
  }
  await box.screenshot(shot('requirement-box', true));
  await page.close();
});

test('the index links to the requirement, its anchor scrolls to it, and copy-link copies it', async () => {
  const page = await open('requirements.html');
  await page.locator(`table.req-index a[href$="#${ANCHOR}"]`).click();
  await page.waitForURL((u) => u.hash === `#${ANCHOR}` && u.pathname.endsWith('/identity.html'));
  const heading = page.locator(`[id="${ANCHOR}"]`);
  await heading.waitFor();
  // Wait for the scroll to settle, then the heading must sit in the viewport below the menu bar.
  await page.waitForFunction((a) => {
    const r = document.getElementById(a).getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  }, ANCHOR);
  const top = await heading.evaluate((h) => h.getBoundingClientRect().top);
  const menu = await page.locator('#mdbook-menu-bar').evaluate((m) => m.getBoundingClientRect().bottom);
  assert.ok(top >= menu - 1, `the heading (top ${top}) is not hidden under the menu bar (${menu})`);

  // The last box of the page: far enough down that following its anchor must scroll.
  const lastAnchor = await page.locator('.requirement .req-title').last().getAttribute('id');
  await page.goto(new URL(`identity.html#${lastAnchor}`, SITE).href);
  await page.waitForFunction((a) => {
    const r = document.getElementById(a).getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  }, lastAnchor);
  assert.ok(await page.evaluate(() => window.scrollY > 0), 'the page scrolled to the last box');

  const copy = page.locator(`.requirement[data-id="${ID}"] button.req-copy`);
  assert.ok(await copy.isVisible(), 'copy-link control shown');
  await copy.click();
  await page.waitForFunction(() => document.querySelector('button.req-copy.copied') !== null);
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, new URL(`identity.html#${ANCHOR}`, SITE).href);
  await page.close();
});

test('the traceability matrix renders a row per chapter', async () => {
  const page = await open('traceability.html');
  const rows = page.locator('table.req-matrix tbody tr');
  assert.ok((await rows.count()) >= 5, 'a row per chapter');
  assert.ok(await page.locator('table.req-matrix tr[data-chapter="identity"] a[href="identity.html"]').isVisible());
  assert.match(await page.locator('main').textContent(), /\d+ of \d+ requirements verified/);
  await page.screenshot(shot('matrix'));
  await page.close();
});

test('the requirement index renders and filters by level, chapter and text', async () => {
  const page = await open('requirements.html');
  const rows = page.locator('table.req-index tbody tr');
  const total = await rows.count();
  assert.ok(total >= 10, `every requirement listed, got ${total}`);
  const form = page.locator('form.req-filters');
  assert.ok(await form.isVisible(), 'filters shown');
  const visible = () => page.locator('table.req-index tbody tr:not([hidden])');

  await form.locator('select[data-filter="level"]').selectOption('MUST');
  const must = await visible().count();
  assert.ok(must > 0 && must <= total);
  for (const level of await visible().evaluateAll((rs) => rs.map((r) => r.dataset.level))) {
    assert.equal(level, 'MUST');
  }
  assert.match(await form.locator('.req-filter-count').textContent(), new RegExp(`^${must} of ${total} `));
  assert.match(page.url(), /[?&]level=MUST/);

  // The text filter keeps the requirement itself and any other that mentions it (a
  // requirement's action may cite another by ID), and nothing else.
  await form.locator('input[data-filter="text"]').fill(ID);
  const hits = await visible().evaluateAll((rs) => rs.map((r) => [r.dataset.id, r.textContent]));
  assert.ok(hits.some(([id]) => id === ID), `${ID} kept`);
  assert.ok(hits.length < total, 'the filter narrows the index');
  for (const [id, text] of hits) {
    assert.ok(id === ID || text.includes(ID), `${id} mentions ${ID}`);
  }
  await form.locator('button[type="reset"]').click();
  await page.waitForFunction((n) => document.querySelectorAll('table.req-index tbody tr:not([hidden])').length === n, total);

  // A filtered index can be linked.
  await page.goto(new URL('requirements.html?chapter=identity', SITE).href);
  const chapters = await visible().evaluateAll((rs) => rs.map((r) => r.dataset.chapter));
  assert.ok(chapters.length > 0 && chapters.length < total);
  assert.ok(chapters.every((c) => c === 'identity'));
  await page.screenshot(shot('index-filtered'));
  await page.close();
});

/** How the index table sits in its column, and how many lines each ID takes. */
async function indexLayout(page) {
  return page.evaluate(() => {
    const table = document.querySelector('table.req-index');
    const box = table.parentElement;
    const column = document.querySelector('main');
    const right = (e) => e.getBoundingClientRect().right;
    // Lines of an ID: the distinct tops of its text's boxes.
    const ids = [...table.querySelectorAll('tbody td:first-child a')].map((a) => {
      const range = document.createRange();
      range.selectNodeContents(a);
      return [a.textContent, new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size];
    });
    return {
      tableWidth: table.scrollWidth,
      boxWidth: box.clientWidth,
      boxScrolls: ['auto', 'scroll'].includes(getComputedStyle(box).overflowX),
      // The box stays inside the content column, and the page does not scroll sideways.
      boxInColumn: right(box) <= right(column) + 1,
      pageWidth: document.scrollingElement.scrollWidth,
      viewport: window.innerWidth,
      // Every cell ends inside the box (no column cut off by the column's edge).
      cellsInBox: [...table.querySelectorAll('tbody tr:first-child td')].every((td) => right(td) <= right(box) + 1),
      ids,
    };
  });
}

for (const [width, height, fits] of [[1366, 768, true], [390, 844, false]]) {
  test(`the requirement index fits its column at ${width}x${height}, IDs in at most two lines`, async () => {
    const page = await open('requirements.html');
    await page.setViewportSize({ width, height });
    const l = await indexLayout(page);
    assert.ok(l.ids.length >= 10, `every requirement listed, got ${l.ids.length}`);
    assert.ok(l.boxInColumn, 'the table\'s box stays in the content column');
    assert.ok(l.pageWidth <= l.viewport, `the page does not scroll sideways (${l.pageWidth} > ${l.viewport})`);
    if (fits) {
      assert.ok(l.tableWidth <= l.boxWidth + 1, `the table (${l.tableWidth} px) fits its column (${l.boxWidth} px)`);
      assert.ok(l.cellsInBox, 'no column is cut off');
    } else {
      assert.ok(l.tableWidth <= l.boxWidth + 1 || l.boxScrolls,
        `the table (${l.tableWidth} px) fits its column (${l.boxWidth} px) or scrolls inside it`);
    }
    const broken = l.ids.filter(([, lines]) => lines > 2);
    assert.deepEqual(broken, [], 'IDs broken into more than two lines');
    await page.screenshot(shot(`index-${width}x${height}`));
    await page.close();
  });
}

/** Types `query` into mdBook's search and returns the result links, best first. */
async function search(page, query) {
  await page.locator('#mdbook-search-toggle').click();
  const bar = page.locator('#mdbook-searchbar');
  await bar.waitFor({ state: 'visible' });
  await bar.fill('');
  await bar.pressSequentially(query, { delay: 5 });
  await page.locator('#mdbook-searchresults li a').first().waitFor();
  return page.locator('#mdbook-searchresults li a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
}

test("mdBook's search finds a requirement by its ID and by words of its action", async () => {
  const page = await open('index.html');
  const byId = await search(page, ID);
  assert.ok(byId.length >= 1);
  assert.match(byId[0], new RegExp(`identity\\.html(\\?[^#]*)?#${ANCHOR.replace(/\./g, '\\.')}$`),
    `the first result is the requirement, got ${byId.slice(0, 3)}`);
  await page.screenshot(shot('search-by-id'));
  await page.close();

  const again = await open('index.html');
  const byWords = await search(again, 'passwd entry appends uid');
  assert.ok(byWords.slice(0, 5).some((h) => h.endsWith(`#${ANCHOR}`)),
    `the requirement is among the first results, got ${byWords.slice(0, 5)}`);
  await again.close();
});

test('the bibliography lists cited sources with the requirements citing them', async () => {
  const page = await open('bibliography.html');
  assert.ok((await page.locator('ul.req-bibliography a.bib-url').count()) >= 5);
  const citing = page.locator(`ul.req-bibliography a[href="identity.html#${ANCHOR}"]`);
  assert.ok((await citing.count()) >= 1, 'the requirement is listed under what it cites');
  assert.ok(await page.locator('#source-posix').isVisible());
  await page.close();
});

test('the changelog page renders the unreleased changes', async () => {
  const page = await open('changelog.html');
  assert.ok(await page.locator('#release-unreleased').isVisible());
  assert.ok((await page.locator('ul.changelog-list li').count()) >= 1);
  await page.screenshot(shot('changelog'));
  await page.close();
});

/** WCAG contrast ratio of two CSS colours (rgb/rgba strings, alpha ignored). */
function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

for (const theme of THEMES) {
  test(`the box reads well in the ${theme} theme`, async () => {
    const page = await open(`identity.html#${ANCHOR}`, theme);
    assert.ok(await page.evaluate((t) => document.documentElement.classList.contains(t), theme));
    const colours = await page.locator(`.requirement[data-id="${ID}"]`).evaluate((box) => {
      // The first opaque background at or above an element.
      const bg = (el) => {
        for (let e = el; e; e = e.parentElement) {
          const c = getComputedStyle(e).backgroundColor;
          if (!/rgba\(.*,\s*0\)$/.test(c) && c !== 'transparent') { return c; }
        }
        return 'rgb(255, 255, 255)';
      };
      const pick = (sel) => {
        const el = box.querySelector(sel);
        return el && [getComputedStyle(el).color, bg(el), sel];
      };
      // Whatever this build's outcomes, every kind of text the box shows.
      return [pick('.req-action'), pick('.req-head .req-status'), pick('.req-head .req-level'),
        pick('.req-meta'), pick('.req-meta a'), pick('.req-provenance a.req-cite'),
        pick('.req-provenance a.req-source'), pick('.req-tests .req-outcome'),
        pick('.req-test-where'), pick('.req-reasons'), pick('.req-since')].filter(Boolean);
    });
    for (const [fg, bg, sel] of colours) {
      const ratio = contrast(fg, bg);
      assert.ok(ratio >= 4.5, `${theme}: ${sel} contrast ${ratio.toFixed(2)} (${fg} on ${bg})`);
    }
    await page.locator(`.requirement[data-id="${ID}"]`).screenshot(shot(`requirement-${theme}`, true));
    await page.close();
  });
}

test('printed, collapsed code is shown and the controls are not', async () => {
  const page = await open('identity.html');
  await page.emulateMedia({ media: 'print' });
  const box = page.locator(`.requirement[data-id="${ID}"]`);
  assert.ok(await box.locator('details.req-impl pre code').first().isVisible(), 'snippet printed');
  assert.equal(await box.locator('button.req-copy').isVisible(), false, 'no copy control on paper');
  await page.pdf({ path: path.join(ARTIFACTS, 'identity-print.pdf'), format: 'A4' });
  await page.close();
});

test('no page raised a script error', () => {
  assert.deepEqual(pageErrors, []);
});
