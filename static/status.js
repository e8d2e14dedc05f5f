// status.js: the status page of a draft (/status/{id}) — state and steps, validation problems
// with their locations, dynamic test numbers, covers, events and chat. It polls every two
// seconds while work is in progress and re-renders only when something changed.
'use strict';

(() => {
  const { el, api, loadDraft, IN_PROGRESS, bytes } = BO;
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

  // no draft in progress: what was published — DOIs, versions with dates, where to see it
  async function published() {
    try {
      const c = await api('GET', '/api/v1/resources/' + encodeURIComponent(id));
      const versions = (c.versions || []).filter((v) => v.state === 'published' || v.state === 'yanked');
      const doi = (d, label) => el('a', { href: 'https://doi.org/' + d }, label || d);
      const detail = '/collection/' + encodeURIComponent(id);
      root.replaceChildren(el('h2', {}, el('span', { 'aria-hidden': 'true' }, '🎉 '), id),
        el('p', { class: 'state', id: 'state' }, 'State: ', el('strong', { id: 'state-name' }, versions.length ? 'published' : 'no draft'),
          ' — no draft in progress.'),
        el('p', { id: 'concept-doi' }, 'Concept DOI (all versions): ',
          c.concept_doi ? doi(c.concept_doi) : el('span', { class: 'muted' }, 'none yet (given when the first version is archived on Zenodo)')),
        el('h3', {}, 'Versions'),
        versions.length ? el('ul', { class: 'versions', id: 'published-versions' }, versions.map((v) => el('li', { 'data-version': v.version },
          el('strong', {}, 'v' + v.version), ' ',
          el('time', { datetime: v.published || v.created }, String(v.published || v.created || '').slice(0, 10)), ' ',
          v.doi ? doi(v.doi, 'DOI ' + v.doi) : el('span', { class: 'badge muted' }, 'no DOI yet'),
          v.state === 'yanked' ? [' ', el('span', { class: 'badge bad' }, 'yanked'), v.yank_reason ? ' ' + v.yank_reason : ''] : null)))
          : el('p', { class: 'muted' }, 'No published version.'),
        el('p', {}, el('a', { href: detail, id: 'detail-link' }, 'See its page in the collection'), ' · ',
          el('a', { href: '/collection' }, 'The collection'), ' · ',
          el('a', { href: '/?id=' + encodeURIComponent(id), id: 'new-revision' }, 'Upload a new revision')));
    } catch (e) {
      root.replaceChildren(el('p', { class: 'notice bad' }, e.status === 404 ? 'No resource ' + id + '.' : e.message));
    }
  }

  // Built once, then updated in place: a poll never replaces the chat form, what is typed
  // in it, the focus or the selection (status line changes are announced by the view).
  let view = null;
  async function refresh() {
    clearTimeout(timer);
    let data;
    try {
      data = await loadDraft(id);
    } catch (e) {
      if (e.status === 404) { view = null; last = ''; return published(); }
      if (!view) root.replaceChildren(el('p', { class: 'notice bad' }, e.message));
      timer = setTimeout(refresh, 5000);
      return;
    }
    const key = JSON.stringify(data);
    if (key !== last) {
      last = key;
      if (!view) {
        const extra = BO.token() ?
          el('p', { id: 'new-revision-p' }, el('a', { href: '/?id=' + encodeURIComponent(id), id: 'new-revision' }, 'Upload a new revision')) : null;
        view = BO.createDraftView(id, { top: extra, refresh });
        root.replaceChildren(view.root);
      }
      const nr = document.getElementById('new-revision-p');
      if (nr) nr.hidden = data.draft.state === 'accepted';
      view.update(data);
    }
    timer = setTimeout(refresh, IN_PROGRESS.includes(data.draft.state) ? 2000 : 10000);
  }
  refresh();
})();
