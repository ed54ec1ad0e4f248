// The console's page frame, stylesheet and formatting helpers; every value goes through hono/html's escaping.
import { html } from 'hono/html';

export type Html = ReturnType<typeof html>;

/** One page: lang, a title, a skip link, the nav, one h1 (accessibility basics every page shares). */
export function page(title: string, body: Html, options: { scripts?: string[] } = {}): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Sluice</title>
<link rel="stylesheet" href="/assets/console.css">
${(options.scripts ?? []).length ? html`<link rel="stylesheet" href="/assets/uplot.css">` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<nav aria-label="Main">
<a href="/" class="brand">Sluice</a>
<a href="/">Pipelines</a>
<a href="/tables">Tables</a>
</nav>
<p class="ro">read-only</p>
</header>
<main id="main">
<h1>${title}</h1>
${body}
</main>
${(options.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
</body>
</html>`;
}

export const n = (v: number | undefined): string => (v === undefined ? '–' : v.toLocaleString('en-US'));

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function ago(isoTime: string | undefined, now: number): string {
  if (!isoTime) return 'never';
  const ms = now - Date.parse(isoTime);
  if (ms < 60_000) return 'just now';
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ago`;
  return `${Math.floor(ms / 86_400_000)} d ago`;
}

export const when = (isoTime: string | undefined): string =>
  isoTime ? `${isoTime.replace('T', ' ').slice(0, 19)} UTC` : '–';

export function bytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export const statusBadge = (status: string): Html => html`<span class="status s-${status}">${status}</span>`;

/** Colours checked for WCAG AA (4.5:1) against their backgrounds; the browser test recomputes them. */
export const CONSOLE_CSS = `
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body { margin: 0; color: #1b1f24; background: #ffffff; line-height: 1.45; }
header { display: flex; align-items: center; justify-content: space-between; padding: 0.5rem 1.5rem;
  background: #0f2a44; color: #ffffff; }
header nav a { color: #ffffff; margin-right: 1.25rem; text-decoration: none; }
header nav a:hover { text-decoration: underline; }
header .brand { font-weight: 700; }
header .ro { margin: 0; font-size: 0.85rem; color: #dbe7f3; }
main { padding: 1rem 1.5rem 3rem; max-width: 1200px; }
h1 { font-size: 1.5rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 0.5rem; }
a { color: #0b5cad; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible {
  outline: 3px solid #c2410c; outline-offset: 2px; }
.skip { position: absolute; left: -10000px; }
.skip:focus { left: 1rem; top: 0.5rem; background: #ffffff; color: #0b5cad; padding: 0.25rem 0.5rem; z-index: 1; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; color: #3d4650; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.35rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { display: inline-block; padding: 0 0.45rem; border-radius: 0.6rem; font-size: 0.85rem; font-weight: 600; }
.s-succeeded { background: #dcf5e3; color: #0d5223; }
.s-failed { background: #fde2e1; color: #8e1b12; }
.s-running { background: #dde9fb; color: #123f7a; }
.s-abandoned { background: #eceff2; color: #3d4650; }
.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: 0.5rem; margin: 0; }
.counts div { border: 1px solid #d0d7de; border-radius: 0.4rem; padding: 0.4rem 0.6rem; }
.counts dt { font-size: 0.8rem; color: #3d4650; }
.counts dd { margin: 0; font-size: 1.2rem; font-variant-numeric: tabular-nums; }
.counts dd.muted { font-size: 0.8rem; }
.check { margin: 0.6rem 0; font-weight: 600; }
.check.ok { color: #0d5223; } .check.bad { color: #8e1b12; }
.error { background: #fde2e1; color: #8e1b12; padding: 0.5rem 0.75rem; border-radius: 0.3rem; white-space: pre-wrap; }
.muted { color: #4f5963; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 0.82rem; }
form.filter { display: flex; gap: 1rem; align-items: end; flex-wrap: wrap; margin-bottom: 1rem; }
form.filter label { display: flex; flex-direction: column; font-size: 0.85rem; color: #3d4650; }
input, select, button { font: inherit; padding: 0.25rem 0.4rem; border: 1px solid #6e7781; border-radius: 0.25rem; }
button { background: #0b5cad; color: #ffffff; border-color: #0b5cad; cursor: pointer; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 1rem; }
.chart { border: 1px solid #d0d7de; border-radius: 0.4rem; padding: 0.5rem; }
.chart h3 { font-size: 0.95rem; margin: 0 0 0.25rem; }
svg.timeline text { font-size: 11px; fill: #1b1f24; }
svg.timeline .bar { fill: #2f6db5; } svg.timeline .bar.rej { fill: #b42318; }
`;
