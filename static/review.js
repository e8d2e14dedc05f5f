// review.js: the reviewer page — the queue (oldest first, age, verdict badges) and a draft
// view with the actions the current state allows: accept (with the acknowledgement checkbox
// when a dynamic test failed; not offered when static validation failed), request changes
// (message required) and re-run the tests. The server enforces the same rules.
'use strict';

(() => {
  const { el, api, announce, verdict, ageText, loadDraft, draftView, IN_PROGRESS } = BO;
  const $ = (id) => document.getElementById(id);
  const msg = $('review-msg');
  let current = null, timer = null, lastKey = '';

  async function queue() {
    const box = $('queue');
    let q;
    try {
      q = await api('GET', '/api/v1/review-queue');
    } catch (e) {
      box.replaceChildren(el('p', { class: 'notice bad' },
        e.status === 401 ? 'Sign in as a reviewer (by email, above) to see the queue.' :
          e.status === 403 ? 'This page is for reviewers; your account is not one.' : e.message));
      return;
    }
    const items = q.items || [];
    if (!items.length) { box.replaceChildren(el('p', {}, 'Nothing awaits review.')); return; }
    box.replaceChildren(el('table', { class: 'queue' },
      el('thead', {}, el('tr', {}, ['Draft', 'Type', 'Waiting', 'Validation', 'Dynamic tests', ''].map((h) =>
        el('th', { scope: 'col' }, h)))),
      el('tbody', {}, items.map((it) => el('tr', { 'data-id': it.id },
        el('td', {}, el('strong', {}, it.name || it.id), el('br'), el('code', {}, it.id), ' rev ' + it.revision),
        el('td', {}, it.type),
        el('td', {}, el('time', { datetime: it.since, title: it.since }, ageText(it.age_seconds))),
        el('td', {}, verdict(it.validation)),
        el('td', {}, (it.tests || []).length ? it.tests.map((t) => el('span', { class: 'test-badge' }, t.weight_format + ' ', verdict(t.status))) : '—'),
        el('td', {}, el('button', { type: 'button', onclick: () => open(it.id) }, 'Open ' + it.id)))))));
  }

  function actions(d) {
    const id = d.id;
    const state = d.state;
    const failedTests = (d.tests || []).some((t) => t.status === 'failed');
    const validationFailed = d.validation && d.validation.status === 'failed';
    const box = el('section', { class: 'card actions', 'aria-labelledby': 'act-h' }, el('h3', { id: 'act-h' }, 'Decision'));
    const decidable = state === 'awaiting review' || state === 'changes requested';
    if (!decidable) {
      box.append(el('p', {}, 'No decision can be taken while the draft is ' + state + '.'));
      return box;
    }
    const out = el('p', { class: 'notice', role: 'status', hidden: true });
    const post = async (path, body, okText) => {
      try {
        await api('POST', '/api/v1/resources/' + encodeURIComponent(id) + path, body);
        announce(msg, okText, 'ok');
        lastKey = '';
        await Promise.all([queue(), open(id)]);
      } catch (e) { announce(out, e.message, 'bad'); }
    };
    if (validationFailed) {
      // the uploader was told what to fix; there is nothing to decide until a new revision
      box.append(el('p', { class: 'bad' }, 'Static validation failed: it cannot be accepted. ' +
        'The uploader was sent the errors; a new revision comes back here once it passes.'));
      box.append(out);
      return box;
    } else {
      const acc = el('form', { id: 'accept-form', novalidate: true });
      const ack = failedTests ? el('input', { type: 'checkbox', id: 'ack', required: true }) : null;
      const note = el('textarea', { id: 'accept-note', rows: 2, maxlength: 10000 });
      acc.append(el('label', { for: 'accept-note' }, 'Note to the uploader (optional)'), note);
      if (ack) acc.append(el('p', { class: 'ack' }, ack, ' ', el('label', { for: 'ack' },
        'I have looked at the failed dynamic tests and accept anyway.')));
      acc.append(el('button', { type: 'submit', id: 'accept' }, 'Accept'));
      acc.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (ack && !ack.checked) { announce(out, 'A dynamic test failed: tick the acknowledgement first.', 'bad'); ack.focus(); return; }
        const body = { decision: 'accept' };
        if (note.value.trim()) body.message = note.value.trim();
        if (ack) body.acknowledge_failed_tests = true;
        post('/draft/review', body, id + ' accepted: it will be published.');
      });
      box.append(acc);
    }
    if (state === 'awaiting review') {
      const rc = el('form', { id: 'changes-form', novalidate: true });
      const text = el('textarea', { id: 'changes-text', rows: 3, required: true, maxlength: 10000 });
      rc.append(el('label', { for: 'changes-text' }, 'What should change (required; goes to the chat and by mail)'), text,
        el('button', { type: 'submit', id: 'request-changes' }, 'Request changes'));
      rc.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!text.value.trim()) { announce(out, 'Write what should change.', 'bad'); text.focus(); return; }
        post('/draft/review', { decision: 'request_changes', message: text.value.trim() }, 'Changes requested for ' + id + '.');
      });
      box.append(rc);
    }
    box.append(el('p', {}, el('button', { type: 'button', id: 'rerun', class: 'secondary',
      onclick: () => post('/draft/tests', undefined, 'The tests of ' + id + ' run again.') }, 'Re-run the tests')));
    box.append(out);
    return box;
  }

  async function open(id) {
    clearTimeout(timer);
    current = id;
    if (location.hash !== '#' + id) history.replaceState(null, '', '#' + encodeURIComponent(id));
    const root = $('review-draft');
    let data;
    try {
      data = await loadDraft(id);
    } catch (e) {
      root.replaceChildren(el('p', { class: 'notice' }, e.status === 404 ? id + ' has no draft (published or unknown).' : e.message));
      return;
    }
    if (current !== id) return;
    const key = JSON.stringify(data);
    if (key !== lastKey) {
      lastKey = key;
      root.replaceChildren(draftView(id, data, actions(data.draft), () => open(id)));
    }
    timer = setTimeout(() => open(id), IN_PROGRESS.includes(data.draft.state) ? 2000 : 10000);
  }

  queue();
  const h = decodeURIComponent(location.hash.slice(1));
  if (h) open(h);
})();
