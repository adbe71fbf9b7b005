/** The pages' one stylesheet, served from the app itself (`/pages/style.css`): no external assets. */
export const STYLESHEET_PATH = '/pages/style.css';

export const STYLESHEET = `
:root {
  --fg: #1c2430; --muted: #5b6675; --bg: #f4f6f9; --card: #fff; --line: #d5dbe3;
  --accent: #1f5fbf; --accent-fg: #fff; --bad: #b3261e; --bad-bg: #fdecea;
  --ok: #1b6e3a; --ok-bg: #e7f5ec; --warn: #7a5200; --warn-bg: #fff4d6;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--accent); }
header.top {
  display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between;
  padding: .75rem 1rem; background: var(--card); border-bottom: 1px solid var(--line);
}
header.top .brand {
  display: inline-flex; align-items: center; gap: .5rem; font-weight: 700; text-decoration: none; color: var(--fg);
}
header.top .logo {
  display: inline-grid; place-items: center; width: 2rem; height: 2rem; border-radius: 8px;
  background: var(--accent); color: var(--accent-fg); font-size: .85rem; letter-spacing: .02em; flex: none;
}
header.top nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
main { max-width: 26rem; margin: 2rem auto; padding: 0 1rem; }
main.wide { max-width: 72rem; }
footer.foot { max-width: 72rem; margin: 0 auto 2rem; padding: 0 1rem; text-align: center; font-size: .9rem; }
.banner { margin-bottom: 1rem; }
.step-links { list-style: none; padding: 0; margin: 1.25rem 0 0; font-size: .95rem; }
.step-links li + li { margin-top: .4rem; }
.help section + section { margin-top: .5rem; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 1.5rem; box-shadow: 0 1px 2px rgba(0,0,0,.04);
}
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
p { margin: 0 0 1rem; }
.muted { color: var(--muted); font-size: .9rem; }
form { margin: 0; }
.field { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: 0 0 .3rem; }
input[type=text], input[type=email], input[type=password], input[type=tel], input[type=search],
input:not([type]), textarea, select {
  display: block; width: 100%; padding: .65rem .75rem; font: inherit; color: inherit;
  background: #fff; border: 1px solid #8d98a7; border-radius: 8px;
}
textarea { min-height: 8rem; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
input:focus, textarea:focus, select:focus, button:focus, a:focus {
  outline: 3px solid #8ab4f8; outline-offset: 1px;
}
input.code { font-size: 1.6rem; letter-spacing: .35em; text-align: center; font-variant-numeric: tabular-nums; }
[aria-invalid=true] { border-color: var(--bad); }
.check { display: flex; gap: .6rem; align-items: flex-start; font-weight: 400; }
.check input { width: 1.25rem; height: 1.25rem; margin: .15rem 0 0; flex: none; }
button, .button {
  display: inline-block; font: inherit; font-weight: 600; padding: .7rem 1.1rem; border-radius: 8px;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); cursor: pointer;
  text-decoration: none; text-align: center;
}
button.primary { width: 100%; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.small { padding: .35rem .7rem; font-size: .9rem; }
button:disabled { opacity: .55; cursor: not-allowed; }
.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.search-row { flex-wrap: nowrap; }
.search-row input[type=search] { flex: 1 1 auto; width: auto; min-width: 0; }
.search-row button { flex: none; }
.stack > * + * { margin-top: 1rem; }
.notice { padding: .75rem 1rem; border-radius: 8px; margin: 0 0 1rem; border: 1px solid transparent; }
.notice.error { background: var(--bad-bg); color: var(--bad); border-color: #f3b8b3; }
.notice.ok { background: var(--ok-bg); color: var(--ok); border-color: #b6dfc4; }
.notice.warn { background: var(--warn-bg); color: var(--warn); border-color: #f0d28a; }
.field-error { color: var(--bad); font-size: .9rem; margin: .3rem 0 0; }
ul.errors { margin: .3rem 0 0; padding-left: 1.2rem; color: var(--bad); font-size: .9rem; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
th, td { text-align: left; padding: .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
.table-wrap { overflow-x: auto; }
.actions-list { display: flex; flex-direction: column; align-items: flex-start; gap: .35rem; }
.actions-list form { margin: 0; }
.actions-list button { white-space: nowrap; }
/* Below this width a table's rows become cards: each cell under its column's name. */
@media (max-width: 48rem) {
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.cards tr { border: 1px solid var(--line); border-radius: 10px; padding: .5rem .75rem; margin: 0 0 .75rem; }
  table.cards td { border: 0; padding: .3rem 0; }
  table.cards td[data-label]::before {
    content: attr(data-label); display: block; font-size: .8rem; font-weight: 600; color: var(--muted);
  }
  table.cards td:empty { display: none; }
  .actions-list button { white-space: normal; text-align: left; }
}
.pager { display: flex; justify-content: space-between; margin-top: 1rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9rem; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0; }
.sms { border-bottom: 1px solid var(--line); padding: .75rem 0; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.balance { font-size: 2rem; font-weight: 700; }
.card + .card { margin-top: 1rem; }
fieldset { border: 0; padding: 0; margin: 0 0 1rem; min-width: 0; }
legend { padding: 0; }
fieldset .check { margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1.25rem 0 .4rem; }
.qr svg { display: block; width: 12rem; height: 12rem; margin: 0 auto 1rem; }
code.secret { font-size: 1rem; letter-spacing: .05em; word-break: break-all; }
ol.backup-codes { columns: 2; font-size: 1.1rem; padding-left: 1.5rem; }
@media print {
  header.top, form, nav, .row, .button { display: none !important; }
  .card { border: 0; box-shadow: none; }
}
@media (max-width: 480px) {
  main { margin: 1rem auto; }
  .card { padding: 1.1rem; border-radius: 10px; }
}
`;
