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
  function progressLine(state) {
    if (state === 'error')
      return el('p', { class: 'state error' }, el('span', { 'aria-hidden': 'true' }, '🔴 '), 'error');
    const cur = STATES.find((s) => s.name === state);
    const step = cur ? cur.step : 0;
    // one entry per step; step 5 is "changes requested" only while it is the state
    const shown = STATES.filter((s) => s.step !== 5 ||
      (state === 'changes requested' ? s.name === state : s.name === 'accepted'));
    return el('ol', { class: 'steps', 'aria-label': 'progress' },
      shown.map((s) => el('li', {
        class: s.name === state ? 'current' : s.step < step ? 'done' : 'todo',
        'aria-current': s.name === state ? 'step' : null,
      }, el('span', { class: 'icon', 'aria-hidden': 'true' }, s.icon), ' ', s.name)));
  }

  function locText(loc) {
    return (loc && loc.length) ? loc.join('.') : '(whole document)';
  }
  function problemItem(p, kind) {
    const where = [];
    where.push(el('code', { class: 'loc' }, locText(p.loc)));
    if (p.line) where.push(' line ' + p.line + (p.column ? ', column ' + p.column : ''));
    return el('li', { class: 'problem ' + kind },
      el('span', { class: 'badge ' + (kind === 'error' ? 'bad' : 'warn') }, kind), ' ', where, ': ', p.msg || p.type || '');
  }

  function validationView(v) {
    if (!v) return el('p', {}, 'Static validation has not run yet.');
    const sec = el('div', { class: 'validation' },
      el('p', {}, 'Static validation: ', verdict(v.status)));
    const items = [];
    for (const d of v.details || []) {
      for (const e of d.errors || []) items.push(problemItem(e, 'error'));
      for (const w of d.warnings || []) items.push(problemItem(w, 'warning'));
    }
    if (items.length) sec.append(el('ul', { class: 'problems', id: 'problems' }, items));
    sec.append(el('details', {}, el('summary', {}, 'All checks'),
      el('ul', {}, (v.details || []).map((d) => el('li', {}, verdict(d.status), ' ', d.name)))));
    return sec;
  }

  function verdict(s) {
    const cls = s === 'passed' ? 'ok' : s === 'failed' ? 'bad' : 'warn';
    return el('span', { class: 'badge ' + cls }, s || 'pending');
  }

  function num(x) {
    return typeof x === 'number' ? (Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(2) : +x.toPrecision(6)) : String(x);
  }

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
        const link = c.produced && !c.produced.startsWith('/') ?
          el('a', { href: '/files/' + c.produced.split('/').map(encodeURIComponent).join('/') }, 'produced tensor') : null;
        rows.push(el('li', {}, verdict(d.status), ' ', d.name, cells.length ? el('div', { class: 'numbers' }, cells) : null,
          link, (d.errors || []).length ? el('ul', { class: 'problems' }, d.errors.map((e) => problemItem(e, 'error'))) : null));
      }
      const kept = (s.test_outputs || []).map((k) =>
        el('li', {}, el('a', { href: '/files/' + k.split('/').map(encodeURIComponent).join('/') }, k.split('/').pop())));
      return el('section', { class: 'test', 'data-format': t.weight_format },
        el('h4', {}, t.weight_format, ' ', verdict(t.status)),
        el('ul', {}, rows),
        kept.length ? el('p', {}, 'Produced tensors:') : null, kept.length ? el('ul', {}, kept) : null);
    }));
  }

  function coversView(d) {
    const files = d.files || [];
    const covers = (d.rdf && d.rdf.covers) || [];
    const imgs = covers.map((c) => {
      const thumb = files.find((f) => f.path === 'thumbnails/' + c + '.png') || files.find((f) => f.path === c);
      return thumb ? el('img', { src: thumb.url, alt: 'cover ' + c, class: 'cover', loading: 'lazy' }) : null;
    }).filter(Boolean);
    return imgs.length ? el('div', { class: 'covers' }, imgs) : el('p', {}, 'No covers.');
  }

  function filesView(d) {
    return el('ul', { class: 'files' }, (d.files || []).map((f) =>
      el('li', {}, el('a', { href: f.url }, f.path), ' ', el('span', { class: 'muted' }, bytes(f.size)))));
  }

  function eventsView(evs) {
    return el('ol', { class: 'events' }, (evs || []).slice().reverse().map((e) =>
      el('li', {}, el('time', { datetime: e.at, title: e.at }, ago(e.at) + ' ago'), ' ',
        el('strong', {}, e.actor || 'system'), ': ', e.message || e.kind)));
  }

  function chatView(id, chat, canPost, onPosted) {
    const wrap = el('div', { class: 'chat' });
    if (chat === null) {
      wrap.append(el('p', { class: 'muted' }, 'Sign in as a maintainer or reviewer to read and write in the chat.'));
      return wrap;
    }
    if (!(chat.items || []).length) wrap.append(el('p', { class: 'muted' }, 'No messages yet.'));
    wrap.append(el('ol', { class: 'messages', id: 'chat-messages' }, (chat.items || []).map((m) =>
      el('li', {}, el('strong', {}, (m.author && m.author.name) || 'someone'), ' ',
        el('time', { datetime: m.at, title: m.at }, ago(m.at) + ' ago'), el('p', {}, m.text)))));
    if (canPost) {
      const msg = el('p', { class: 'notice', role: 'status', hidden: true });
      const form = el('form', { class: 'chat-form' },
        el('label', { for: 'chat-text' }, 'Message'),
        el('textarea', { id: 'chat-text', required: true, rows: 2, maxlength: 10000 }),
        el('button', { type: 'submit' }, 'Send'), msg);
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const text = form.querySelector('textarea').value.trim();
        if (!text) return;
        try {
          await api('POST', '/api/v1/resources/' + encodeURIComponent(id) + '/draft/chat', { text });
          form.querySelector('textarea').value = '';
          onPosted();
        } catch (e) { announce(msg, e.message, 'bad'); }
      });
      wrap.append(form);
    }
    return wrap;
  }

  // Loads draft, events and (when allowed) chat of id: {draft, events, chat} or throws.
  async function loadDraft(id) {
    const p = '/api/v1/resources/' + encodeURIComponent(id) + '/draft';
    const [draft, events] = await Promise.all([api('GET', p), api('GET', p + '/events')]);
    let chat = null;
    if (token()) {
      try { chat = await api('GET', p + '/chat'); } catch (e) { if (e.status !== 403 && e.status !== 401) throw e; }
    }
    return { draft, events, chat };
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
    return el('section', { 'aria-labelledby': id + '-h', class: 'card' }, el('h3', { id: id + '-h' }, title), ...kids);
  }

  // The whole draft view; extra (may be null) is inserted after the summary (reviewer actions).
  function draftView(id, data, extra, refresh) {
    const d = data.draft;
    const st = d.status || {};
    return el('div', { class: 'draft' },
      el('h2', {}, el('span', { 'aria-hidden': 'true' }, st.icon || ''), ' ', (d.rdf && d.rdf.name) || id,
        ' ', el('code', {}, id)),
      el('p', { class: 'state', id: 'state' }, 'State: ', el('strong', { id: 'state-name' }, d.state),
        st.description ? el('span', { class: 'state-detail' }, ' — ' + st.description) : ''),
      progressLine(d.state),
      extra,
      section('Summary', 'sum', rdfSummary(d)),
      section('Covers', 'cov', coversView(d)),
      section('Validation', 'val', validationView(d.validation)),
      section('Dynamic tests', 'dyn', testsView(d.tests)),
      section('Chat', 'chat', chatView(id, data.chat, !!token(), refresh)),
      section('Files', 'files', filesView(d)),
      section('Events', 'ev', eventsView(data.events)));
  }

  return { el, api, ApiError, token, setToken, me, header, announce, ago, ageText, bytes, verdict,
    draftView, loadDraft, validationView, problemItem, IN_PROGRESS, STATES };
})();

document.addEventListener('DOMContentLoaded', () => { BO.header(); });
