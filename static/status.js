// status.js: the status page of a draft (/status/{id}) — state and steps, validation problems
// with their locations, dynamic test numbers, covers, events and chat. It polls every two
// seconds while work is in progress and re-renders only when something changed.
'use strict';

(() => {
  const { el, api, loadDraft, draftView, IN_PROGRESS, bytes } = BO;
  const id = decodeURIComponent(location.pathname.replace(/^\/status\//, '').replace(/\/$/, ''));
  const root = document.getElementById('draft');
  document.title = id + ' — status — BioImage Model Zoo backoffice';
  let last = '';
  let timer = null;

  const up = sessionStorage.getItem('bo_uploaded');
  if (up) {
    try {
      const u = JSON.parse(up);
      if (u.id === id) {
        const n = document.getElementById('upload-done');
        n.textContent = 'Upload complete: ' + bytes(u.bytes) + ' sent (100 %), revision ' + u.revision + '.';
        n.hidden = false;
      }
    } catch (_) { /* ignore */ }
    sessionStorage.removeItem('bo_uploaded');
  }

  async function published() {
    try {
      const c = await api('GET', '/api/v1/resources/' + encodeURIComponent(id));
      const versions = (c.versions || []).map((v) => v.version || v.v || v);
      root.replaceChildren(el('h2', {}, el('span', { 'aria-hidden': 'true' }, '🎉 '), id),
        el('p', { class: 'state', id: 'state' }, 'State: ', el('strong', { id: 'state-name' }, 'published'),
          ' — no draft in progress. Published versions: ', versions.join(', ') || 'none'),
        el('p', {}, el('a', { href: '/collection' }, 'See it in the collection'), ' · ',
          el('a', { href: '/?id=' + encodeURIComponent(id) }, 'Upload a new revision')));
    } catch (e) {
      root.replaceChildren(el('p', { class: 'notice bad' }, e.status === 404 ? 'No resource ' + id + '.' : e.message));
    }
  }

  async function refresh() {
    clearTimeout(timer);
    let data;
    try {
      data = await loadDraft(id);
    } catch (e) {
      if (e.status === 404) return published();
      root.replaceChildren(el('p', { class: 'notice bad' }, e.message));
      timer = setTimeout(refresh, 5000);
      return;
    }
    const key = JSON.stringify(data);
    if (key !== last) {
      last = key;
      const active = document.activeElement && document.activeElement.id;
      const typed = document.getElementById('chat-text');
      const draftText = typed ? typed.value : '';
      const extra = data.draft.state !== 'accepted' && BO.token() ?
        el('p', {}, el('a', { href: '/?id=' + encodeURIComponent(id), id: 'new-revision' }, 'Upload a new revision')) : null;
      root.replaceChildren(draftView(id, data, extra, refresh));
      const t2 = document.getElementById('chat-text');
      if (t2 && draftText) t2.value = draftText;
      if (active && document.getElementById(active)) document.getElementById(active).focus();
    }
    timer = setTimeout(refresh, IN_PROGRESS.includes(data.draft.state) ? 2000 : 10000);
  }
  refresh();
})();
