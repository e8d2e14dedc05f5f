// common.js: what every page shares — the session token (kept in localStorage, removable),
// API calls, the header with sign-in by email / sign-out, and the draft view that the status
// page and the reviewer page both show. Untrusted text is only ever set with textContent.
'use strict';

const BO = (() => {
  const TOKEN_KEY = 'bo_token';
  const STATES = [
    { name: 'unpacking', step: 1, icon: '📦' },
    { name: 'unpacked', step: 2, icon: '⏳' },
    { name: 'testing', step: 3, icon: '🧪' },
    { name: 'awaiting review', step: 4, icon: '🧐' },
    { name: 'changes requested', step: 5, icon: '🔧' },
    { name: 'accepted', step: 5, icon: '👍' },
    { name: 'published', step: 6, icon: '🎉' },
  ];
  const IN_PROGRESS = ['unpacking', 'unpacked', 'testing', 'accepted'];

  const token = () => localStorage.getItem(TOKEN_KEY);
  const setToken = (t) => {
    if (t) localStorage.setItem(TOKEN_KEY, t);
    else localStorage.removeItem(TOKEN_KEY);
    meCache = undefined; // eslint-disable-line no-use-before-define
  };

  // el('li', {class: 'x', href: …}, child, 'text', …): a DOM node; strings become text nodes
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || 'HTTP ' + status);
      this.status = status;
      this.problem = problem || {};
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const t = token();
    if (t) headers.Authorization = 'Bearer ' + t;
    const init = { method, headers };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // one /me request per page load, shared by everyone who asks (a promise)
  let meCache;
  function me() {
    if (meCache !== undefined) return meCache;
    meCache = (async () => {
      if (!token()) return null;
      try { return await api('GET', '/api/v1/me'); } catch (e) {
        if (e.status === 401) localStorage.removeItem(TOKEN_KEY); // revoked elsewhere
        return null;
      }
    })();
    return meCache;
  }

  function ago(iso) {
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return ageText(s);
  }
  function ageText(s) {
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.round(s / 60) + ' min';
    if (s < 86400) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' d';
  }
  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }
  function announce(node, msg, kind) {
    node.textContent = msg;
    node.className = 'notice ' + (kind || '');
    node.hidden = !msg;
  }

  // --- header: navigation and sign-in
  async function header() {
    const nav = document.getElementById('site-nav');
    const box = document.getElementById('account');
    if (!nav || !box) return;
    const u = await me();
    const links = [['/', 'Upload'], ...(u ? [['/my', 'My uploads']] : []), ['/collection', 'Collection']];
    if (u && (u.role === 'reviewer' || u.role === 'admin')) links.push(['/review', 'Review']);
    nav.replaceChildren(...links.map(([href, label]) =>
      el('a', { href, 'aria-current': location.pathname === href ? 'page' : null }, label)));
    if (u) {
      box.replaceChildren(
        el('span', { class: 'who', id: 'who' }, u.name + ' (' + u.role + ')'),
        el('button', { type: 'button', id: 'signout', onclick: signout }, 'Sign out'));
      return;
    }
    const msg = el('p', { class: 'notice', id: 'signin-msg', role: 'status', hidden: true });
    const form = el('form', { id: 'signin-form', class: 'signin' },
      el('label', { for: 'signin-email' }, 'Sign in by email'),
      el('input', { id: 'signin-email', type: 'email', name: 'email', required: true, autocomplete: 'email',
        placeholder: 'you@example.org' }),
      el('button', { type: 'submit' }, 'Send link'), msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const email = form.querySelector('input').value.trim();
      try {
        await api('POST', '/api/v1/signin', { email });
        announce(msg, 'A sign-in link was mailed to ' + email + '. It works once, within 15 minutes.', 'ok');
      } catch (e) {
        announce(msg, e.message, 'bad');
      }
    });
    box.replaceChildren(form);
  }

  async function signout() {
    try { await api('POST', '/api/v1/signout'); } catch (_) { /* the token goes anyway */ }
    setToken(null);
    meCache = undefined;
    location.reload();
  }

  // --- the draft view (status page and reviewer page)
  // Built once per draft (createDraftView) and then updated in place: each data section is
  // replaced only when its own data changed, and nothing that holds user input (the chat
  // form, the decision forms) is ever rebuilt by a poll, so typed text, focus and selection
  // survive. Only a small status line is aria-live: it announces a state change once.

  // A relative time that stays fresh: "5 min ago", with the absolute time in title and
  // for screen readers; refreshTimes() (every 30 s) updates the relative part only.
  function timeEl(iso, suffix) {
    const abs = iso ? new Date(iso) : null;
    const absText = abs && !isNaN(abs) ? abs.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC') : String(iso || '');
    return el('time', { datetime: iso, title: absText, class: 'rel', 'data-suffix': suffix === undefined ? ' ago' : suffix },
      el('span', { class: 'rel-text' }, iso ? ago(iso) + (suffix === undefined ? ' ago' : suffix) : ''),
      el('span', { class: 'visually-hidden' }, ' (' + absText + ')'));
  }
  function refreshTimes(root) {
    for (const t of (root || document).querySelectorAll('time.rel[datetime]')) {
      const r = t.querySelector('.rel-text');
      if (r) r.textContent = ago(t.getAttribute('datetime')) + (t.getAttribute('data-suffix') || '');
    }
  }
  setInterval(() => refreshTimes(document), 30000);

  const STEP_CUE = { done: '(done)', current: '(current step)', todo: '(to do)' };
  function progressLine(state) {
    if (state === 'error')
      return el('p', { class: 'state error' }, el('span', { 'aria-hidden': 'true' }, '🔴 '), 'error');
    const cur = STATES.find((s) => s.name === state);
    const step = cur ? cur.step : 0;
    // one entry per step; step 5 is "changes requested" only while it is the state
    const shown = STATES.filter((s) => s.step !== 5 ||
      (state === 'changes requested' ? s.name === state : s.name === 'accepted'));
    return el('ol', { class: 'steps', 'aria-label': 'progress' },
      shown.map((s) => {
        const kind = s.name === state ? 'current' : s.step < step ? 'done' : 'todo';
        // not by colour only: a check mark on done steps, and the word for screen readers
        return el('li', { class: kind, 'aria-current': kind === 'current' ? 'step' : null },
          kind === 'done' ? el('span', { class: 'check', 'aria-hidden': 'true' }, '✓ ') : null,
          el('span', { class: 'icon', 'aria-hidden': 'true' }, s.icon), ' ', s.name,
          el('span', { class: 'visually-hidden' }, ' ' + STEP_CUE[kind]));
      }));
  }

  function locText(loc) {
    return (loc && loc.length) ? loc.join('.') : '(whole document)';
  }
  // A problem; with lineLinks, its line links to that line of "rdf.yaml as uploaded".
  function problemItem(p, kind, lineLinks) {
    const where = [];
    where.push(el('code', { class: 'loc' }, locText(p.loc)));
    if (p.line) {
      const text = 'line ' + p.line + (p.column ? ', column ' + p.column : '');
      where.push(' ', lineLinks ? el('a', { href: '#rdf-line-' + p.line, class: 'line-link', 'data-line': p.line }, text) : text);
    }
    return el('li', { class: 'problem ' + kind },
      el('span', { class: 'badge ' + (kind === 'error' ? 'bad' : 'warn') }, kind), ' ', where, ': ', p.msg || p.type || '');
  }

  function validationView(v, lineLinks) {
    if (!v) return el('p', {}, 'Static validation has not run yet.');
    const sec = el('div', { class: 'validation' },
      el('p', {}, 'Static validation: ', verdict(v.status)));
    const items = [];
    for (const d of v.details || []) {
      for (const e of d.errors || []) items.push(problemItem(e, 'error', lineLinks));
      for (const w of d.warnings || []) items.push(problemItem(w, 'warning', lineLinks));
    }
    if (items.length) sec.append(el('ul', { class: 'problems', id: 'problems' }, items));
    sec.append(el('details', {}, el('summary', {}, 'All checks'),
      el('ul', {}, (v.details || []).map((d) => el('li', {}, verdict(d.status), ' ', d.name)))));
    return sec;
  }
  // The lines that validation errors name (of the uploaded RDF).
  function errorLines(v) {
    const lines = new Set();
    for (const d of (v && v.details) || []) for (const e of d.errors || []) if (e.line > 0) lines.add(e.line);
    return lines;
  }

  function verdict(s) {
    const cls = s === 'passed' ? 'ok' : s === 'failed' ? 'bad' : 'warn';
    return el('span', { class: 'badge ' + cls }, s || 'pending');
  }

  function num(x) {
    return typeof x === 'number' ? (Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(2) : +x.toPrecision(6)) : String(x);
  }

  const filesHref = (k) => '/files/' + k.split('/').map(encodeURIComponent).join('/');
  function testsView(tests) {
    if (!tests || !tests.length) return el('p', {}, 'No dynamic tests for this revision.');
    return el('div', { class: 'tests' }, tests.map((t) => {
      const s = t.summary || {};
      const rows = [];
      for (const d of s.details || []) {
        const c = d.comparison || d.context || {};
        const cells = [];
        if ('max_abs_diff' in c) {
          cells.push('max difference ' + num(c.max_abs_diff), ', tolerance rtol ' + num(c.rtol) + ' atol ' + num(c.atol));
          if (c.worst_index) cells.push(', worst element [' + c.worst_index.join(', ') + ']: got ' + num(c.got) +
            ', expected ' + num(c.expected));
          if (c.mismatched_elements !== undefined) cells.push(', ' + c.mismatched_elements + ' of ' + c.elements + ' elements mismatched');
        }
        const link = c.produced && !c.produced.startsWith('/') ? el('a', { href: filesHref(c.produced) }, 'produced tensor') : null;
        rows.push(el('li', {}, verdict(d.status), ' ', d.name, cells.length ? el('div', { class: 'numbers' }, cells) : null,
          link, (d.errors || []).length ? el('ul', { class: 'problems' }, d.errors.map((e) => problemItem(e, 'error'))) : null));
      }
      const kept = (s.test_outputs || []).map((k) => el('li', {}, el('a', { href: filesHref(k) }, k.split('/').pop())));
      return el('section', { class: 'test', 'data-format': t.weight_format },
        el('h4', {}, t.weight_format, ' ', verdict(t.status)),
        el('ul', {}, rows),
        kept.length ? el('p', {}, 'Produced tensors:') : null, kept.length ? el('ul', {}, kept) : null);
    }));
  }

  function coversView(d, id) {
    const files = d.files || [];
    const covers = (d.rdf && d.rdf.covers) || [];
    const name = (d.rdf && d.rdf.name) || id;
    const imgs = covers.map((c, i) => {
      const thumb = files.find((f) => f.path === 'thumbnails/' + c + '.png') || files.find((f) => f.path === c);
      return thumb ? el('img', { src: thumb.url, alt: 'Cover ' + (i + 1) + ' of ' + name, class: 'cover', loading: 'lazy' }) : null;
    }).filter(Boolean);
    return imgs.length ? el('div', { class: 'covers' }, imgs) : el('p', {}, 'No covers.');
  }

  function filesView(d) {
    return el('ul', { class: 'files' }, (d.files || []).map((f) =>
      el('li', {}, el('a', { href: f.url }, f.path), ' ', el('span', { class: 'muted' }, bytes(f.size)))));
  }

  function eventsView(evs) {
    return el('ol', { class: 'events' }, (evs || []).slice().reverse().map((e) =>
      el('li', {}, timeEl(e.at), ' ', el('strong', {}, e.actor || 'system'), ': ', e.message || e.kind)));
  }

  function messagesView(chat) {
    const items = (chat && chat.items) || [];
    if (!items.length) return el('p', { class: 'muted' }, 'No messages yet.');
    return el('ol', { class: 'messages', id: 'chat-messages' }, items.map((m) =>
      el('li', {}, el('strong', {}, (m.author && m.author.name) || 'someone'), ' ', timeEl(m.at), el('p', {}, m.text))));
  }

  // The chat's form, built once; onPosted() refreshes the view.
  function chatForm(id, onPosted) {
    const msg = el('p', { class: 'notice', role: 'status', hidden: true });
    const ta = el('textarea', { id: 'chat-text', required: true, rows: 2, maxlength: 10000 });
    const form = el('form', { class: 'chat-form' }, el('label', { for: 'chat-text' }, 'Message'), ta,
      el('button', { type: 'submit' }, 'Send'), msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const text = ta.value.trim();
      if (!text) return;
      try {
        await api('POST', '/api/v1/resources/' + encodeURIComponent(id) + '/draft/chat', { text });
        ta.value = '';
        announce(msg, '', '');
        onPosted();
      } catch (e) { announce(msg, e.message, 'bad'); }
    });
    return form;
  }

  const CHANGE_WORD = { added: 'added', removed: 'removed', changed: 'changed', same: 'same' };
  function compareView(c, title) {
    const sum = c.summary || {};
    const out = [el('h4', {}, title)];
    if (c.identical) out.push(el('p', { class: 'notice warn identical' }, 'Byte-identical: every file has the same SHA-256.'));
    out.push(el('p', {}, ['added', 'removed', 'changed', 'same'].map((k) => (sum[k] || 0) + ' ' + k).join(', ') + '.'));
    const differing = (c.files || []).filter((f) => f.change !== 'same');
    if (differing.length) {
      out.push(el('table', { class: 'diff-files' },
        el('thead', {}, el('tr', {}, ['File', 'Change', 'SHA-256 before', 'SHA-256 now'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, differing.map((f) => el('tr', { class: 'change-' + f.change },
          el('td', {}, el('code', {}, f.path)), el('td', {}, CHANGE_WORD[f.change] || f.change),
          el('td', {}, el('code', {}, f.sha256_old ? f.sha256_old.slice(0, 12) + '…' : '—')),
          el('td', {}, el('code', {}, f.sha256_new ? f.sha256_new.slice(0, 12) + '…' : '—')))))));
    }
    if (c.rdf_diff_status === 'too large to diff') out.push(el('p', { class: 'muted' }, 'rdf.yaml: too large to diff.'));
    else if (c.rdf_diff_status === 'not kept') out.push(el('p', { class: 'muted' }, 'rdf.yaml: the other text was not kept, no line diff.'));
    else if (!(c.rdf_diff || []).length) out.push(el('p', {}, 'rdf.yaml: no line changed.'));
    else out.push(el('p', {}, 'rdf.yaml, line by line:'), el('pre', { class: 'rdf-diff' }, c.rdf_diff.map((l) =>
      el('span', { class: l[0] === '+' ? 'ins' : l[0] === '-' ? 'del' : l[0] === '@' ? 'gap' : 'ctx' }, l + '\n'))));
    return el('div', { class: 'compare' }, out);
  }
  function diffView(diff) {
    if (!diff) return el('p', { class: 'muted' }, 'No comparison available.');
    if (!diff.staged) return el('p', { class: 'muted' }, 'This revision is not staged yet.');
    const parts = [];
    if (diff.against_published) parts.push(compareView(diff.against_published, 'Against published version ' + diff.against_published.version));
    else parts.push(el('p', {}, 'No version is published yet.'));
    if (diff.against_previous) parts.push(compareView(diff.against_previous, 'Against revision ' + diff.against_previous.revision));
    else parts.push(el('p', {}, 'This is the first revision.'));
    return el('div', {}, parts);
  }
  function identicalHint(diff) {
    const p = diff && diff.against_published;
    if (!p || !p.identical) return null;
    return el('p', { class: 'notice warn', id: 'identical-hint' }, el('strong', {},
      'This revision is byte-identical to published version ' + p.version + '.'),
      ' Every file has the same SHA-256: accepting it would publish the same bytes again.');
  }

  // "rdf.yaml as uploaded": the text with line numbers, error lines marked.
  function rdfTextView(text, errLines, path) {
    const lines = text.split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    const MAX = 20000;
    const ol = el('ol', { class: 'rdf-text', 'aria-label': (path || 'rdf.yaml') + ' with line numbers' });
    lines.slice(0, MAX).forEach((l, i) => {
      const n = i + 1;
      const bad = errLines.has(n);
      ol.append(el('li', { id: 'rdf-line-' + n, class: bad ? 'err-line' : null, tabindex: bad ? '-1' : null },
        el('span', { class: 'ln', 'aria-hidden': 'true' }, String(n)),
        el('code', {}, l || ' '),
        bad ? el('span', { class: 'visually-hidden' }, ' (error on this line)') : null));
    });
    const kids = [el('p', {}, 'The RDF as uploaded (', el('code', {}, path || 'rdf.yaml'), '), ' + lines.length + ' lines' +
      (errLines.size ? '; lines with errors are marked.' : '.')), ol];
    if (lines.length > MAX) kids.push(el('p', { class: 'muted' }, 'Only the first ' + MAX + ' lines are shown.'));
    return el('div', {}, kids);
  }

  // Loads draft, events, diff and (when allowed) chat of id: {draft, events, chat, diff} or throws.
  async function loadDraft(id) {
    const p = '/api/v1/resources/' + encodeURIComponent(id) + '/draft';
    const [draft, events, diff] = await Promise.all([api('GET', p), api('GET', p + '/events'),
      api('GET', p + '/diff').catch(() => null)]);
    let chat = null;
    if (token()) {
      try { chat = await api('GET', p + '/chat'); } catch (e) { if (e.status !== 403 && e.status !== 401) throw e; }
    }
    return { draft, events, chat, diff };
  }

  function rdfSummary(d) {
    const r = d.rdf || {};
    const authors = (r.authors || []).map((a) => a.name).filter(Boolean).join(', ');
    const rows = [['Name', r.name], ['Type', d.type], ['Description', r.description], ['Authors', authors],
      ['License', r.license], ['Tags', (r.tags || []).join(', ')], ['Version', r.version],
      ['Revision', d.revision], ['Uploader', d.uploader && (d.uploader.name || d.uploader)]];
    return el('dl', { class: 'rdf' }, rows.filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
  }

  function section(title, id, ...kids) {
    return el('section', { 'aria-labelledby': id + '-h', class: 'card', id: id + '-sec' }, el('h3', { id: id + '-h' }, title), ...kids);
  }

  // Partner tools' reports [{tool, status, report: {error, badge, links}}] as a table.
  function compatView(reports) {
    if (!reports || !reports.length) return el('p', { class: 'muted' }, 'No partner tool has reported on this yet.');
    return el('table', { class: 'compat' },
      el('thead', {}, el('tr', {}, ['Tool', 'Result', 'Detail'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, reports.map((r) => {
        const rep = r.report || {};
        const b = rep.badge;
        const safe = (u) => typeof u === 'string' && /^https?:\/\//.test(u) ? u : null;
        return el('tr', { 'data-tool': r.tool },
          el('td', {}, el('code', {}, r.tool)),
          el('td', {}, verdict(r.status)),
          el('td', {}, typeof rep.error === 'string' ? rep.error : '',
            b && safe(b.url) ? [' ', el('a', { href: safe(b.url), rel: 'noopener noreferrer nofollow' }, String(b.label || r.tool))] : null));
      })));
  }

  // The draft's documentation, rendered (markdown.js) when the page loaded it, else as text.
  function docsView(id, text, d) {
    const doc = String((d.rdf && d.rdf.documentation) || '').replace(/^(\.\/)+/, '');
    const f = (d.files || []).find((x) => x.path === doc);
    const base = new URL(f ? f.url : '/files/' + encodeURIComponent(id) + '/draft/files/' + doc, location.href).href;
    const box = el('div', { class: 'markdown', id: 'draft-doc' });
    if (typeof BOMarkdown !== 'undefined') {
      try { box.append(BOMarkdown.render(text, base)); return box; } catch (_) { /* shown as text below */ }
    }
    box.append(el('pre', {}, text));
    return box;
  }

  // The draft view of id. opts: top (node or null: shown under the steps, e.g. a link),
  // decision (d => {key, build: () => node}: the reviewer's card after the evidence; rebuilt
  // only when key changes, keeping the text of its fields), refresh (called after a chat
  // message is sent). Returns {root, heading, update(data)}.
  function createDraftView(id, opts) {
    opts = opts || {};
    const slot = () => el('div', { class: 'slot' });
    const s = {
      icon: el('span', { 'aria-hidden': 'true' }), name: el('span', {}),
      stateName: el('strong', { id: 'state-name' }), stateDetail: el('span', { class: 'state-detail' }),
      live: el('p', { class: 'visually-hidden', id: 'state-live', role: 'status', 'aria-live': 'polite' }),
      steps: slot(), hint: slot(), summary: slot(), covers: slot(), validation: slot(), tests: slot(),
      diff: slot(), rdf: slot(), decision: slot(), messages: slot(), files: slot(), events: slot(),
      docs: slot(), compat: slot(),
    };
    const heading = el('h2', { id: 'draft-h', tabindex: '-1' }, s.icon, ' ', s.name, ' ', el('code', {}, id));
    const chatSec = section('Chat', 'chat', s.messages);
    const rdfSec = section('rdf.yaml as uploaded', 'rdftext', s.rdf);
    const root = el('div', { class: 'draft', 'data-id': id }, heading,
      el('p', { class: 'state', id: 'state' }, 'State: ', s.stateName, s.stateDetail), s.live,
      s.steps, s.hint, opts.top || null,
      section('Summary', 'sum', s.summary),
      section('Covers', 'cov', s.covers),
      section('Documentation', 'doc', s.docs),
      section('Validation', 'val', s.validation),
      section('Dynamic tests', 'dyn', s.tests),
      section('Partner tools', 'compat', s.compat),
      section('Changes', 'diff', s.diff),
      rdfSec,
      opts.decision ? s.decision : null,
      chatSec,
      section('Files', 'files', s.files),
      section('Events', 'ev', s.events));
    // a link to a line of the RDF moves focus there (the page's hash stays the draft's)
    root.addEventListener('click', (ev) => {
      const a = ev.target.closest && ev.target.closest('a.line-link');
      if (!a) return;
      const line = document.getElementById('rdf-line-' + a.getAttribute('data-line'));
      if (!line) return;
      ev.preventDefault();
      line.setAttribute('tabindex', '-1');
      line.scrollIntoView({ block: 'center' });
      line.focus({ preventScroll: true });
    });
    const keys = {};
    let chatBuilt = false, rdfKey = null, docKey = null, lastState = null, decisionKey = null;
    // replaces a slot's content when its data changed
    const put = (name, data, build) => {
      const k = JSON.stringify(data === undefined ? null : data);
      if (keys[name] === k) return;
      keys[name] = k;
      s[name].replaceChildren(build());
    };

    async function loadRdf(d, errLines) {
      const o = d.rdf_original;
      const k = JSON.stringify([o, d.revision, [...errLines]]);
      if (rdfKey === k) return;
      rdfKey = k;
      if (!o || !o.url) { s.rdf.replaceChildren(el('p', { class: 'muted' }, 'The uploaded RDF is not available.')); return; }
      try {
        // same origin (text_url): the storage URL may be another origin, which connect-src refuses
        const res = await fetch(o.text_url || o.url, { headers: { Accept: 'text/plain' } });
        if (!res.ok) throw new Error('HTTP ' + res.status);
        const text = await res.text();
        if (rdfKey !== k) return;
        s.rdf.replaceChildren(rdfTextView(text, errLines, o.path));
      } catch (e) {
        if (rdfKey !== k) return;
        rdfKey = null; // try again on the next update
        s.rdf.replaceChildren(el('p', { class: 'muted' }, 'Could not load the uploaded RDF (' + e.message + '): ',
          el('a', { href: o.url }, o.path || 'rdf.yaml')));
      }
    }

    // the documentation from our origin (GET …/draft/documentation), once per revision
    async function loadDocs(d) {
      const doc = d.rdf && d.rdf.documentation;
      const k = JSON.stringify([doc, d.revision, d.files && d.files.length]);
      if (docKey === k) return;
      docKey = k;
      if (!doc) { s.docs.replaceChildren(el('p', { class: 'muted' }, 'The RDF names no documentation.')); return; }
      if (/^https?:\/\//.test(doc)) {
        s.docs.replaceChildren(el('p', {}, 'The documentation is outside the package: ',
          el('a', { href: doc, rel: 'noopener noreferrer nofollow' }, doc)));
        return;
      }
      try {
        const res = await fetch('/api/v1/resources/' + encodeURIComponent(id) + '/draft/documentation',
          { headers: { Accept: 'text/markdown, text/plain' } });
        if (!res.ok) {
          let p = null;
          try { p = await res.json(); } catch (_) { /* not JSON */ }
          throw new Error((p && p.detail) || 'HTTP ' + res.status);
        }
        const text = await res.text();
        if (docKey !== k) return;
        s.docs.replaceChildren(docsView(id, text, d));
      } catch (e) {
        if (docKey !== k) return;
        s.docs.replaceChildren(el('p', { class: 'muted' }, 'The documentation could not be shown: ' + e.message));
      }
    }

    function update(data) {
      const d = data.draft;
      const st = d.status || {};
      s.icon.textContent = st.icon || '';
      s.name.textContent = (d.rdf && d.rdf.name) || id;
      s.stateName.textContent = d.state;
      s.stateDetail.textContent = st.description ? ' — ' + st.description : '';
      if (lastState !== null && lastState !== d.state) s.live.textContent = 'State: ' + d.state + (st.description ? ' — ' + st.description : '');
      lastState = d.state;
      put('steps', d.state, () => progressLine(d.state));
      put('hint', data.diff && data.diff.against_published, () => identicalHint(data.diff) || '');
      put('summary', [d.rdf, d.type, d.revision, d.uploader], () => rdfSummary(d));
      put('covers', [d.rdf && d.rdf.covers, d.rdf && d.rdf.name, d.files], () => coversView(d, id));
      const lineLinks = !!(d.rdf_original && d.rdf_original.url);
      put('validation', [d.validation, lineLinks], () => validationView(d.validation, lineLinks));
      put('tests', d.tests, () => testsView(d.tests));
      put('diff', data.diff, () => diffView(data.diff));
      put('compat', d.compatibility, () => compatView(d.compatibility));
      loadRdf(d, errorLines(d.validation));
      loadDocs(d);
      if (opts.decision) {
        const dec = opts.decision(d);
        if (dec.key !== decisionKey) {
          decisionKey = dec.key;
          // keep what was typed in fields of the same id, and the focus
          const saved = {};
          for (const f of s.decision.querySelectorAll('textarea[id], input[type=checkbox][id]'))
            saved[f.id] = f.type === 'checkbox' ? f.checked : [f.value, f.selectionStart, f.selectionEnd];
          const focused = s.decision.contains(document.activeElement) ? document.activeElement.id : null;
          s.decision.replaceChildren(dec.build());
          for (const [fid, v] of Object.entries(saved)) {
            const f = document.getElementById(fid);
            if (!f || !s.decision.contains(f)) continue;
            if (f.type === 'checkbox') f.checked = v; else { f.value = v[0]; try { f.setSelectionRange(v[1], v[2]); } catch (_) { /* */ } }
          }
          if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
        }
      }
      if (data.chat === null) {
        put('messages', 'no-chat', () => el('p', { class: 'muted' }, 'Sign in as a maintainer or reviewer to read and write in the chat.'));
      } else {
        put('messages', data.chat.items, () => messagesView(data.chat));
        if (!chatBuilt && token()) {
          chatBuilt = true;
          chatSec.append(chatForm(id, () => opts.refresh && opts.refresh()));
        }
      }
      put('files', d.files, () => filesView(d));
      put('events', data.events, () => eventsView(data.events));
      refreshTimes(root);
    }
    return { root, heading, update };
  }

  // A one-off draft view (no updates): kept for callers that render once.
  function draftView(id, data, extra, refresh) {
    const v = createDraftView(id, { top: extra, refresh });
    v.update(data);
    return v.root;
  }

  return { el, api, compatView, ApiError, token, setToken, me, header, announce, ago, ageText, bytes, verdict,
    draftView, createDraftView, loadDraft, validationView, problemItem, timeEl, refreshTimes, IN_PROGRESS, STATES };
})();

document.addEventListener('DOMContentLoaded', () => { BO.header(); });
