// review.js: the reviewer page — the queue (oldest first, age, verdict badges), the drafts
// waiting for their uploader (changes requested), and a draft view with the evidence first
// (validation, dynamic tests, what the revision changed, the RDF as uploaded) and then the
// decision the current state allows: accept (confirmed in the page, with the acknowledgement
// checkbox when a dynamic test failed; not offered when static validation failed), request
// changes (message required) and re-run the tests (only when static validation passed).
// The server enforces the same rules. Each draft's view is built once and updated in place
// by the poll, so what a reviewer types is never wiped. #id opens a draft; Back returns.
'use strict';

(() => {
  const { el, api, announce, verdict, loadDraft, createDraftView, timeEl, IN_PROGRESS } = BO;
  const $ = (id) => document.getElementById(id);
  const msg = $('review-msg');
  let current = null, timer = null, view = null, lastKey = '';

  const cell = (label, ...kids) => el('td', { role: 'cell', 'data-label': label }, ...kids);
  // A table that keeps its semantics when the phone layout changes its display (explicit roles).
  function queueTable(caption, cols, rows) {
    return el('table', { class: 'queue', role: 'table' },
      el('caption', { class: 'visually-hidden' }, caption),
      el('thead', { role: 'rowgroup' }, el('tr', { role: 'row' }, cols.map((h) => el('th', { scope: 'col', role: 'columnheader' }, h)))),
      el('tbody', { role: 'rowgroup' }, rows));
  }
  const openButton = (id) => el('button', { type: 'button', class: 'secondary', 'data-open': id, onclick: () => navigate(id) }, 'Open ' + id);
  const draftCell = (it) => cell('Draft', el('strong', {}, it.name || it.id), el('br'), el('code', {}, it.id), ' rev ' + it.revision);
  const testsCell = (it) => cell('Dynamic tests', (it.tests || []).length ?
    it.tests.map((t) => el('span', { class: 'test-badge' }, t.weight_format + ' ', verdict(t.status))) : '—');

  async function queue() {
    const box = $('queue'), waiting = $('waiting');
    let q;
    try {
      q = await api('GET', '/api/v1/review-queue');
    } catch (e) {
      box.replaceChildren(el('p', { class: 'notice bad' },
        e.status === 401 ? 'Sign in as a reviewer (by email, above) to see the queue.' :
          e.status === 403 ? 'This page is for reviewers; your account is not one.' : e.message));
      waiting.replaceChildren();
      return;
    }
    const items = q.items || [];
    box.replaceChildren(items.length ? queueTable('Drafts awaiting review, oldest first',
      ['Draft', 'Type', 'Waiting', 'Validation', 'Dynamic tests', 'Action'],
      items.map((it) => el('tr', { 'data-id': it.id, role: 'row' }, draftCell(it), cell('Type', it.type),
        cell('Waiting', timeEl(it.since, '')), cell('Validation', verdict(it.validation)), testsCell(it),
        cell('Action', openButton(it.id))))) : el('p', {}, 'Nothing awaits review.'));
    const cr = q.changes_requested || [];
    waiting.replaceChildren(cr.length ? queueTable('Changes requested, waiting for the uploader',
      ['Draft', 'Type', 'Changes requested', 'Uploader', 'Action'],
      cr.map((it) => el('tr', { 'data-id': it.id, role: 'row' }, draftCell(it), cell('Type', it.type),
        cell('Changes requested', timeEl(it.since)), cell('Uploader', (it.uploader && it.uploader.name) || '—'),
        cell('Action', openButton(it.id))))) : el('p', {}, 'No draft waits for its uploader.'));
  }

  // The version an accept publishes, for the confirmation.
  const versionText = (d) => (d.publish_version ? 'version ' + d.publish_version : 'a new version');

  // The decision card of d: {key, build}; the view rebuilds it only when key changes.
  function decision(d) {
    const id = d.id, state = d.state;
    const failedTests = (d.tests || []).some((t) => t.status === 'failed');
    const vstatus = d.validation && d.validation.status;
    const key = JSON.stringify([state, d.revision, vstatus, failedTests, (d.tests || []).length, d.publish_version]);
    return { key, build: () => buildDecision(d, id, state, failedTests, vstatus) };
  }

  function buildDecision(d, id, state, failedTests, vstatus) {
    const box = el('section', { class: 'card actions', 'aria-labelledby': 'act-h', id: 'decision' }, el('h3', { id: 'act-h' }, 'Decision'));
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
    if (vstatus === 'failed') {
      // the uploader was told what to fix; there is nothing to decide until a new revision
      box.append(el('p', { class: 'bad' }, 'Static validation failed: it cannot be accepted. ' +
        'The uploader was sent the errors; a new revision comes back here once it passes.'), out);
      return box;
    }
    const acc = el('form', { id: 'accept-form', novalidate: true });
    const ack = failedTests ? el('input', { type: 'checkbox', id: 'ack', required: true }) : null;
    const note = el('textarea', { id: 'accept-note', rows: 2, maxlength: 10000 });
    acc.append(el('label', { for: 'accept-note' }, 'Note to the uploader (optional)'), note);
    if (ack) acc.append(el('p', { class: 'ack' }, ack, ' ', el('label', { for: 'ack' },
      'I have looked at the failed dynamic tests and accept anyway.')));
    acc.append(el('button', { type: 'submit', id: 'accept', class: 'primary' }, 'Accept…'));
    // the confirmation, in the page: what will be published, and that it is final
    const dlg = el('dialog', { id: 'accept-confirm', 'aria-labelledby': 'accept-confirm-h' },
      el('h4', { id: 'accept-confirm-h' }, 'Publish ' + id + ' as ' + versionText(d) + '?'),
      el('p', {}, 'Revision ' + d.revision + ' becomes ' + versionText(d) + ' of ' + id +
        ' in the collection. This cannot be undone (a published version can only be yanked).'),
      el('form', { method: 'dialog', class: 'dialog-actions' },
        el('button', { type: 'submit', value: 'publish', id: 'accept-yes', class: 'primary' }, 'Publish ' + versionText(d)),
        ' ', el('button', { type: 'submit', value: 'cancel', id: 'accept-cancel', class: 'secondary', autofocus: true }, 'Cancel')));
    dlg.addEventListener('close', () => {
      if (dlg.returnValue !== 'publish') { $('accept').focus(); return; }
      const body = { decision: 'accept' };
      if (note.value.trim()) body.message = note.value.trim();
      if (ack) body.acknowledge_failed_tests = true;
      post('/draft/review', body, id + ' accepted: it will be published as ' + versionText(d) + '.');
    });
    acc.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (ack && !ack.checked) { announce(out, 'A dynamic test failed: tick the acknowledgement first.', 'bad'); ack.focus(); return; }
      dlg.returnValue = '';
      dlg.showModal();
    });
    box.append(acc, dlg);
    if (state === 'awaiting review') {
      const rc = el('form', { id: 'changes-form', novalidate: true });
      const text = el('textarea', { id: 'changes-text', rows: 3, required: true, maxlength: 10000 });
      rc.append(el('label', { for: 'changes-text' }, 'What should change (required; goes to the chat and by mail)'), text,
        el('button', { type: 'submit', id: 'request-changes', class: 'warning' }, 'Request changes'));
      rc.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!text.value.trim()) { announce(out, 'Write what should change.', 'bad'); text.focus(); return; }
        post('/draft/review', { decision: 'request_changes', message: text.value.trim() }, 'Changes requested for ' + id + '.');
      });
      box.append(rc);
    }
    // re-running needs a passed static validation and dynamic tests to run (the server agrees)
    if (vstatus === 'passed' && (d.tests || []).length)
      box.append(el('p', {}, el('button', { type: 'button', id: 'rerun', class: 'secondary',
        onclick: () => post('/draft/tests', undefined, 'The tests of ' + id + ' run again.') }, 'Re-run the tests')));
    box.append(out);
    return box;
  }

  // Shows id's draft (polling it); focus moves to its heading when asked.
  async function open(id, focus) {
    clearTimeout(timer);
    const root = $('review-draft');
    if (current !== id) {
      current = id;
      view = null;
      lastKey = '';
      root.replaceChildren(el('p', {}, 'Loading ' + id + '…'));
    }
    let data;
    try {
      data = await loadDraft(id);
    } catch (e) {
      if (current !== id) return;
      view = null;
      root.replaceChildren(el('p', { class: 'notice', id: 'draft-h', tabindex: '-1' },
        e.status === 404 ? id + ' has no draft (published or unknown).' : e.message));
      if (focus) focusHeading();
      return;
    }
    if (current !== id) return;
    const key = JSON.stringify(data);
    if (!view) {
      view = createDraftView(id, { decision, refresh: () => open(id) });
      root.replaceChildren(view.root);
    }
    if (key !== lastKey) {
      lastKey = key;
      view.update(data);
    }
    document.title = id + ' — Review — BioImage Model Zoo backoffice';
    if (focus) focusHeading();
    timer = setTimeout(() => open(id), IN_PROGRESS.includes(data.draft.state) ? 2000 : 10000);
  }
  function focusHeading() {
    const h = $('draft-h');
    if (!h) return;
    h.scrollIntoView({ block: 'start' });
    h.focus({ preventScroll: true });
  }

  function close() {
    clearTimeout(timer);
    current = null;
    view = null;
    $('review-draft').replaceChildren();
    document.title = 'Review — BioImage Model Zoo backoffice';
  }

  // The draft the address names ("" for the queue); links to RDF lines are not drafts.
  const hashId = () => {
    const h = decodeURIComponent(location.hash.slice(1));
    return h.startsWith('rdf-line-') ? null : h;
  };
  function navigate(id) {
    if (hashId() !== id) history.pushState({ id }, '', '#' + encodeURIComponent(id));
    open(id, true);
  }
  // Back, Forward and typed or linked #id
  function fromLocation() {
    const id = hashId();
    if (id === null || id === current) return;
    if (!id) {
      close();
      $('queue-h').focus();
      return;
    }
    open(id, true);
  }
  window.addEventListener('popstate', fromLocation);
  window.addEventListener('hashchange', fromLocation);

  queue();
  const h = hashId();
  if (h) open(h, false);
})();
