/**
 * `netfence matrix -o html` in a real browser: Debian's headless Chromium loads the page from a
 * file, dumps its DOM and takes a screenshot, with network logging on.
 *
 * Proof of rendering: the page draws its tables with its one inline script. For a small
 * report the DOM after load holds both tables and the violation cell; the screenshot (decoded
 * here, no image library) is a 1280x900 PNG that is not blank and shows a violation-red block
 * the size of a table cell. For a large one (1,000 namespaces of 100 tenants, under 5 MB) the
 * DOM holds the tenant matrix as a virtual table of the cells in sight and no namespace table,
 * until the URL fragment asks for the namespaces of one tenant cell (headless Chromium cannot
 * click; a click sets the same fragment, see test/unit/matrix-format.test.ts).
 *
 * Proof of no network: Chromium runs with every host name mapped to nowhere, a NetLog file
 * (`--log-net-log`) and console logging to stderr. A fetch the page starts shows up in the
 * NetLog as a URL request whose initiator is the page (the browser's own background requests
 * have none); a fetch the page's Content-Security-Policy blocks shows up in the console log.
 * Negative controls run the same detectors on pages that do fetch (one without a CSP, one
 * with ours) and must catch them.
 *
 * No Chromium: the test fails when CI=true (CI installs it) and is skipped otherwise.
 * NETFENCE_KEEP_SCREENSHOT=1 also copies the screenshot to /tmp/netfence-matrix-screenshot.png.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import type { CellFence, Matrix, MatrixCell, MatrixEntry, MatrixReport } from '../../src/analysis/matrix-model.js';
import { findChromium, headlessFlags } from '../../bench/chromium.js';
import { formatMatrix } from '../../src/cli/matrix/index.js';
import { largeReport } from '../fixtures/matrix-reports.js';

const KEPT_SCREENSHOT = '/tmp/netfence-matrix-screenshot.png';
const WIDTH = 1280;
const HEIGHT = 900;
/** The page's violation colour (--violation, #e53935). */
const VIOLATION_RGB: [number, number, number] = [0xe5, 0x39, 0x35];

// ---------------------------------------------------------------------------------------------
// Chromium

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** URLs of the network requests the page itself started, from the NetLog. */
  pageRequests: string[];
  /** Loads the page's Content-Security-Policy blocked, from the console log. */
  cspBlocked: string[];
}

/** One headless Chromium run on a file (and a URL fragment), with network logging, in a throwaway profile. */
async function runChromium(chromium: string, dir: string, name: string, page: string, extra: string[], fragment = ''): Promise<Run> {
  const netlog = join(dir, `${name}.netlog.json`);
  const args = [
    ...headlessFlags(join(dir, `${name}.profile`)),
    `--log-net-log=${netlog}`,
    '--net-log-capture-mode=Default',
    '--enable-logging=stderr',
    '--log-level=0',
    ...extra,
    pathToFileURL(page).href + fragment,
  ];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(chromium, args, { timeout: 45_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, out, err) => {
      const c = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code: c, stdout: out, stderr: err });
    });
  });
  return { code, stdout, stderr, pageRequests: pageRequests(netlog), cspBlocked: cspBlocked(stderr) };
}

interface NetLog {
  constants: { logEventTypes: Record<string, number> };
  events: { type: number; params?: { url?: string; initiator?: string; network_isolation_key?: string } }[];
}

/** Chromium closes the NetLog's JSON on a clean exit; a killed one leaves it open. */
function readNetLog(path: string): NetLog {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as NetLog;
  } catch {
    return JSON.parse(`${text.replace(/,?\s*$/, '')}]}`) as NetLog;
  }
}

/**
 * Requests the page started: URL_REQUEST_START_JOB events with an initiator (a document's
 * origin; a file:// page's is `null`) or whose isolation key names the file:// page. The
 * browser's own requests (updates, time, dictionaries) carry `not an origin`.
 */
function pageRequests(netlogPath: string): string[] {
  const log = readNetLog(netlogPath);
  const start = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  if (start === undefined) throw new Error('NetLog without URL_REQUEST_START_JOB: the detector would see nothing');
  return log.events
    .filter((e) => e.type === start && e.params?.url !== undefined)
    .filter((e) => e.params?.initiator !== 'not an origin' || (e.params?.network_isolation_key ?? '').includes('file://'))
    .map((e) => e.params?.url ?? '');
}

function cspBlocked(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes('CONSOLE') && l.includes('violates the following Content Security Policy directive'))
    .map((l) => /Loading the \w+ '([^']*)'/.exec(l)?.[1] ?? l);
}

// ---------------------------------------------------------------------------------------------
// PNG, decoded by hand: 8-bit RGB or RGBA, not interlaced, as Chromium writes them

interface Image {
  width: number;
  height: number;
  /** RGB triplets, row by row. */
  rgb: Uint8Array;
}

function decodePng(buf: Buffer): Image {
  expect(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  for (let at = 8; at < buf.length;) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [bitDepth, ct, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (bitDepth !== 8 || (ct !== 2 && ct !== 6) || interlace !== 0) throw new Error(`unsupported PNG: depth ${bitDepth}, colour type ${ct}, interlace ${interlace}`);
      colorType = ct;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const stride = width * bpp;
  const raw = inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe(height * (stride + 1));
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    const prev = y * stride - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? (pixels[out + x - bpp] ?? 0) : 0;
      const b = y > 0 ? (pixels[prev + x] ?? 0) : 0;
      const c = x >= bpp && y > 0 ? (pixels[prev + x - bpp] ?? 0) : 0;
      const v = line[x] ?? 0;
      let predictor: number;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`bad PNG filter ${filter} on row ${y}`);
      }
      pixels[out + x] = (v + predictor) & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let k = 0; k < width * height; k++) {
    rgb[k * 3] = pixels[k * bpp] ?? 0;
    rgb[k * 3 + 1] = pixels[k * bpp + 1] ?? 0;
    rgb[k * 3 + 2] = pixels[k * bpp + 2] ?? 0;
  }
  return { width, height, rgb };
}

/** Bounding boxes of the 4-connected regions of pixels within `tolerance` of `color`. */
function regionsOf(img: Image, color: [number, number, number], tolerance: number): { w: number; h: number; size: number }[] {
  const { width, height, rgb } = img;
  const match = (k: number): boolean =>
    Math.abs((rgb[k * 3] ?? 0) - color[0]) <= tolerance && Math.abs((rgb[k * 3 + 1] ?? 0) - color[1]) <= tolerance && Math.abs((rgb[k * 3 + 2] ?? 0) - color[2]) <= tolerance;
  const seen = new Uint8Array(width * height);
  const out: { w: number; h: number; size: number }[] = [];
  for (let start = 0; start < width * height; start++) {
    if (seen[start] === 1 || !match(start)) continue;
    let [minX, maxX, minY, maxY, size] = [width, 0, height, 0, 0];
    const stack = [start];
    seen[start] = 1;
    while (stack.length > 0) {
      const k = stack.pop() ?? 0;
      const x = k % width;
      const y = (k - x) / width;
      [minX, maxX, minY, maxY, size] = [Math.min(minX, x), Math.max(maxX, x), Math.min(minY, y), Math.max(maxY, y), size + 1];
      for (const n of [x > 0 ? k - 1 : -1, x < width - 1 ? k + 1 : -1, y > 0 ? k - width : -1, y < height - 1 ? k + width : -1]) {
        if (n >= 0 && seen[n] !== 1 && match(n)) {
          seen[n] = 1;
          stack.push(n);
        }
      }
    }
    out.push({ w: maxX - minX + 1, h: maxY - minY + 1, size });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The report: three tenants (one Audit), a namespace outside them, the outside entries

const NONE: MatrixCell = { reach: 'none', ports: '', fence: 'none' };
const cell = (reach: MatrixCell['reach'], ports: string, fence: CellFence): MatrixCell => ({ reach, ports, fence });

function matrix(entries: MatrixEntry[], allowed: Record<string, MatrixCell>): Matrix {
  return { entries, cells: entries.map((f) => entries.map((t) => allowed[`${f.id} -> ${t.id}`] ?? NONE)) };
}

function browserReport(): MatrixReport {
  const external: MatrixEntry[] = [
    { id: 'external', label: 'outside the cluster', kind: 'external', detail: 'addresses that are not pods' },
    { id: 'metadata', label: 'cloud metadata', kind: 'external', detail: '169.254.169.254, fd00:ec2::254' },
  ];
  const ns = (name: string, tenant: string | undefined, detail: string): MatrixEntry => ({
    id: `namespace:${name}`,
    label: name,
    kind: 'namespace',
    detail,
    ...(tenant === undefined ? {} : { tenant }),
  });
  const tenants = matrix(
    [
      { id: 'tenant:payments', label: 'payments', kind: 'tenant', detail: '3 namespaces, 9 pods' },
      { id: 'tenant:search', label: 'search', kind: 'tenant', detail: '2 namespaces, 5 pods' },
      { id: 'tenant:labs <beta> & "co"', label: 'labs <beta> & "co"', kind: 'tenant', detail: 'Audit, 1 namespace, 2 pods' },
      ns('monitoring', undefined, '2 pods'),
      ...external,
    ],
    {
      'tenant:payments -> tenant:payments': cell('all', 'any', 'same'),
      'tenant:payments -> tenant:search': cell('some', 'TCP 8080', 'violation'),
      'tenant:payments -> external': cell('some', 'TCP 443', 'declared'),
      'tenant:search -> tenant:search': cell('all', 'any', 'same'),
      'tenant:search -> tenant:payments': cell('some', 'TCP 9000', 'declared'),
      'tenant:labs <beta> & "co" -> tenant:labs <beta> & "co"': cell('all', 'any', 'same'),
      'tenant:labs <beta> & "co" -> tenant:search': cell('all', 'TCP 9200', 'audit'),
      'namespace:monitoring -> tenant:payments': cell('some', 'TCP 9090', 'declared'),
      'namespace:monitoring -> namespace:monitoring': cell('all', 'any', 'same'),
      'namespace:monitoring -> external': cell('all', 'any', 'unfenced'),
      'namespace:monitoring -> metadata': cell('all', 'any', 'unfenced'),
    },
  );
  const namespaces = matrix(
    [
      ns('pay-api', 'payments', '4 pods'),
      ns('pay-db', 'payments', '2 pods'),
      ns('pay-worker', 'payments', '3 pods'),
      ns('search-api', 'search', '3 pods'),
      ns('search-index', 'search', '2 pods'),
      ns('labs', 'labs <beta> & "co"', '2 pods'),
      ns('monitoring', undefined, '2 pods'),
      ...external,
    ],
    {
      'namespace:pay-api -> namespace:pay-api': cell('all', 'any', 'same'),
      'namespace:pay-api -> namespace:pay-db': cell('all', 'TCP 5432', 'same'),
      'namespace:pay-db -> namespace:pay-db': cell('all', 'any', 'same'),
      'namespace:pay-worker -> namespace:pay-worker': cell('all', 'any', 'same'),
      'namespace:search-api -> namespace:search-api': cell('all', 'any', 'same'),
      'namespace:search-index -> namespace:search-index': cell('all', 'any', 'same'),
      'namespace:labs -> namespace:labs': cell('all', 'any', 'same'),
      'namespace:monitoring -> namespace:monitoring': cell('all', 'any', 'same'),
      'namespace:pay-worker -> namespace:pay-db': cell('all', 'TCP 5432', 'same'),
      'namespace:pay-worker -> namespace:search-api': cell('some', 'TCP 8080', 'violation'),
      'namespace:pay-api -> external': cell('some', 'TCP 443', 'declared'),
      'namespace:search-api -> namespace:search-index': cell('all', 'TCP 9200', 'same'),
      'namespace:search-api -> namespace:pay-api': cell('some', 'TCP 9000', 'declared'),
      'namespace:labs -> namespace:search-index': cell('all', 'TCP 9200', 'audit'),
      'namespace:monitoring -> namespace:pay-api': cell('some', 'TCP 9090', 'declared'),
      'namespace:monitoring -> external': cell('all', 'any', 'unfenced'),
      'namespace:monitoring -> metadata': cell('all', 'any', 'unfenced'),
    },
  );
  return {
    title: 'examples/payments (3 tenants, 7 namespaces, 18 pods)',
    tenants,
    namespaces,
    notes: ['labs <beta> & "co" is in Audit mode: its fence is reported, not enforced', 'search-index has no pods in the input: one representative pod'],
    violations: 2,
  };
}

// ---------------------------------------------------------------------------------------------

const chromium = findChromium();

if (chromium === undefined) {
  if (process.env.CI === 'true') {
    test('headless Chromium is installed', () => {
      throw new Error(
        "no Chromium: set CHROMIUM or put chromium/chromium-browser on PATH (CI installs Debian's chromium package); the html matrix must be rendered in a real browser",
      );
    });
  } else {
    process.stderr.write('matrix-html.browser.test: skipped: no Chromium (set CHROMIUM or install chromium); CI=true makes this a failure\n');
    test.skip('renders in headless Chromium', () => undefined);
  }
} else {
  describe(`netfence matrix -o html in ${chromium}`, () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'netfence-matrix-browser-'));
    });
    afterAll(() => {
      if (dir !== '') rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    });

    const html = formatMatrix(browserReport(), 'html');
    const writePage = (name: string, content: string): string => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };

    /** The DOM after load, from a run that must have succeeded, without the page's own script text. */
    const domOf = (run: Run): string => {
      expect({ code: run.code, stderrTail: run.code === 0 ? '' : run.stderr.slice(-2000) }).toEqual({ code: 0, stderrTail: '' });
      return run.stdout.replace(/<script>[\s\S]*?<\/script>/g, '<script></script>').replace(/(<script type="application\/json"[^>]*>)[\s\S]*?<\/script>/g, '$1</script>');
    };
    /** Short failures: the DOM is too long to print whole. */
    const expectIn = (dom: string, s: string): void => {
      if (!dom.includes(s)) throw new Error(`the DOM after load lacks ${JSON.stringify(s)}; it starts ${JSON.stringify(dom.slice(0, 400))}`);
    };
    const section = (dom: string, id: string): string => dom.slice(dom.indexOf(`<section id="${id}">`), dom.indexOf('</section>', dom.indexOf(`<section id="${id}">`)));

    /** A 1280x900 screenshot, no network used; the image and the colours it counts. */
    const screenshot = async (name: string, page: string): Promise<{ img: Image; colours: Map<number, number> }> => {
      const png = join(dir, `${name}.png`);
      const run = await runChromium(chromium, dir, name, page, [`--screenshot=${png}`, `--window-size=${WIDTH},${HEIGHT}`, '--hide-scrollbars']);
      expect({ code: run.code, stderrTail: run.code === 0 ? '' : run.stderr.slice(-2000) }).toEqual({ code: 0, stderrTail: '' });
      expect(run.pageRequests).toEqual([]);
      expect(run.cspBlocked).toEqual([]);
      if (process.env.NETFENCE_KEEP_SCREENSHOT === '1') copyFileSync(png, KEPT_SCREENSHOT.replace('.png', name === 'shot' ? '.png' : `-${name}.png`));
      const img = decodePng(readFileSync(png));
      expect([img.width, img.height]).toEqual([WIDTH, HEIGHT]);
      const colours = new Map<number, number>();
      for (let k = 0; k < img.width * img.height; k++) {
        const key = ((img.rgb[k * 3] ?? 0) << 16) | ((img.rgb[k * 3 + 1] ?? 0) << 8) | (img.rgb[k * 3 + 2] ?? 0);
        colours.set(key, (colours.get(key) ?? 0) + 1);
      }
      expect(colours.size).toBeGreaterThan(50);
      expect(Math.max(...colours.values()) / (img.width * img.height)).toBeLessThan(0.9);
      return { img, colours };
    };

    it('renders both tables and the violation cell, without any network request', async () => {
      const page = writePage('matrix.html', html);
      const run = await runChromium(chromium, dir, 'dom', page, ['--dump-dom']);
      const dom = domOf(run);
      const has = (s: string): void => expectIn(dom, s);
      has('<table class="matrix detailed">');
      for (const id of ['tenants', 'namespaces']) has(`<section id="${id}">`);
      expect((dom.match(/<table class="matrix /g) ?? []).length).toBe(2);
      expect((dom.match(/<td class="/g) ?? []).length).toBe(6 * 6 + 9 * 9);
      has('<td class="violation" title="from payments to search: some pairs reach, TCP 8080; violation: crosses an Enforce fence undeclared">◐!<small>TCP 8080</small></td>');
      has(
        '<td class="violation gs" title="from pay-worker to search-api: some pairs reach, TCP 8080; violation: crosses an Enforce fence undeclared">◐!<small>TCP 8080</small></td>',
      );
      has('<td class="unfenced" title="from monitoring to cloud metadata: every pair reaches, any; unfenced: no tenant on either end">');
      has('<p class="summary bad" id="summary">2 violations:');
      // The escaped name arrived as text, not as an element.
      has('labs &lt;beta&gt; &amp; "co"');
      expect(dom.includes('<beta>')).toBe(false);
      expect(run.pageRequests).toEqual([]);
      expect(run.cspBlocked).toEqual([]);
    }, 60_000);

    it('draws a 1280x900 screenshot that is not blank and shows a violation-red cell', async () => {
      const { img } = await screenshot('shot', writePage('matrix.html', html));
      // A table cell: the legend swatch (22 px) and list badges are smaller; the summary is another red.
      const red = regionsOf(img, VIOLATION_RGB, 6);
      const cells = red.filter((r) => r.w >= 40 && r.h >= 30 && r.size >= 800);
      expect(cells.length).toBeGreaterThanOrEqual(1);
      // The amber audit cell and the green declared cells are drawn too.
      expect(regionsOf(img, [0xff, 0xca, 0x28], 6).some((r) => r.w >= 40 && r.h >= 30)).toBe(true);
      expect(regionsOf(img, [0xa5, 0xd6, 0xa7], 6).some((r) => r.w >= 40 && r.h >= 30)).toBe(true);
    }, 60_000);

    describe('at 1,000 namespaces of 100 tenants', () => {
      const big = largeReport(1000, 100);
      const bigHtml = formatMatrix(big, 'html');

      it('is under 5 MB and draws the tenant matrix at load, cells in sight only, and no namespace table, without any network request', async () => {
        expect(Buffer.byteLength(bigHtml)).toBeLessThan(5 * 1024 * 1024);
        const run = await runChromium(chromium, dir, 'big', writePage('big.html', bigHtml), ['--dump-dom', `--window-size=${WIDTH},${HEIGHT}`]);
        const dom = domOf(run);
        const tenants = section(dom, 'tenants');
        expectIn(tenants, '<table class="matrix compact virtual" style="width: ');
        // 102 x 102 entries; in sight at 1280 x 900 about 20 rows of 35 columns.
        const cells = (tenants.match(/<td class="/g) ?? []).length;
        expect(cells).toBeGreaterThan(10 * 25);
        expect(cells).toBeLessThan(40 * 50);
        const ports = big.tenants.cells[0]?.[7]?.ports ?? '?';
        expectIn(tenants, `<td class="violation" title="from tenant-0 to tenant-7: some pairs reach, ${ports}; violation: crosses an Enforce fence undeclared">◐!</td>`);
        const namespaces = section(dom, 'namespaces');
        expect(namespaces).not.toContain('<table');
        expectIn(namespaces, '1002 namespaces: drawn when asked.');
        expect((dom.match(/<td /g) ?? []).length).toBeLessThan(5_000);
        expect(run.pageRequests).toEqual([]);
        expect(run.cspBlocked).toEqual([]);
      }, 60_000);

      it('draws the namespaces of the tenant cell the URL fragment names', async () => {
        const run = await runChromium(chromium, dir, 'block', writePage('big.html', bigHtml), ['--dump-dom'], '#from=tenant:tenant-3&to=tenant:tenant-10');
        const namespaces = section(domOf(run), 'namespaces');
        expectIn(namespaces, 'From <b>tenant-3</b> (10) to <b>tenant-10</b> (10)');
        expectIn(namespaces, '<table class="matrix detailed">');
        expect((namespaces.match(/<td class="/g) ?? []).length).toBe(10 * 10);
        for (let k = 0; k < 10; k++) {
          expectIn(
            namespaces,
            `<td class="violation" title="from ns-${3 + 100 * k} to ns-${10 + 100 * k}: some pairs reach, TCP ${20_003 + 100 * k}; violation: crosses an Enforce fence undeclared">◐!<small>TCP ${20_003 + 100 * k}</small></td>`,
          );
        }
        expect((namespaces.match(/<td class="none/g) ?? []).length).toBe(10 * 9);
        expect(run.pageRequests).toEqual([]);
        expect(run.cspBlocked).toEqual([]);
      }, 60_000);

      it('draws a screenshot of the tenant matrix with violation-red cells', async () => {
        const { img } = await screenshot('big', writePage('big.html', bigHtml));
        // Cells of the virtual table are 30 px; the legend swatch is 22.
        const cells = regionsOf(img, VIOLATION_RGB, 6).filter((r) => r.w >= 26 && r.w <= 32 && r.h >= 26 && r.h <= 32);
        expect(cells.length).toBeGreaterThanOrEqual(10);
        expect(regionsOf(img, [0xa5, 0xd6, 0xa7], 6).filter((r) => r.w >= 26 && r.h >= 26).length).toBeGreaterThanOrEqual(10);
      }, 60_000);
    });

    it('negative controls: the detectors catch a page that fetches, and the policy runs no other script', async () => {
      // No CSP: the request starts (and fails to resolve); the NetLog shows it.
      const open = writePage(
        'fetches.html',
        '<!doctype html><html><head><script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="http://cdn.example/y.css"></head><body>fetches</body></html>',
      );
      const openRun = await runChromium(chromium, dir, 'open', open, ['--dump-dom']);
      expect(openRun.stdout).toContain('fetches');
      expect(openRun.pageRequests).toEqual(expect.arrayContaining(['https://cdn.example/x.js', 'http://cdn.example/y.css']));
      // Our CSP: the load is refused before any request; the console log shows the attempt.
      // An inline script other than the page's own is refused too, and the page's own still runs.
      const csp = /<meta http-equiv="Content-Security-Policy"[^>]*>/.exec(html)?.[0] ?? '';
      expect(csp).not.toBe('');
      const injected = '<script src="https://cdn.example/x.js"></script><img src="local.png"><script>document.documentElement.dataset.injected = "ran"</script>';
      const guarded = writePage('guarded.html', html.replace(csp, `${csp}${injected}`));
      const guardedRun = await runChromium(chromium, dir, 'guarded', guarded, ['--dump-dom']);
      expect(guardedRun.stdout).toContain('<table class="matrix');
      expect(guardedRun.stdout).not.toContain('data-injected');
      expect(guardedRun.pageRequests).toEqual([]);
      expect(guardedRun.cspBlocked).toEqual(expect.arrayContaining(['https://cdn.example/x.js', pathToFileURL(join(dir, 'local.png')).href]));
      expect(guardedRun.cspBlocked.filter((l) => l.includes("Executing inline script violates the following Content Security Policy directive 'script-src 'sha256-"))).toHaveLength(
        1,
      );
    }, 60_000);
  });
}
