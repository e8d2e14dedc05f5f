// my.js: "My uploads" — the signed-in user's drafts (state with its icon, revision, when it
// last changed) and the published resources they maintain (latest version, DOI), each linking
// to its status page; from GET /api/v1/me/resources. Signed out: a sign-in prompt.
'use strict';

(() => {
  const { el, api, ago, STATES } = BO;
  const $ = (id) => document.getElementById(id);
  const statusLink = (id, name) => el('a', { href: '/status/' + encodeURIComponent(id) }, name || id);

  function draftItem(d) {
    const st = STATES.find((s) => s.name === d.state);
    return el('li', { 'data-id': d.id },
      statusLink(d.id, d.name), ' ', el('code', {}, d.id),
      el('div', { class: 'meta' },
        el('span', { 'aria-hidden': 'true' }, (st ? st.icon : '•') + ' '), el('strong', { class: 'state' }, d.state),
        ' · revision ' + d.revision + ' · ' + (d.type || ''),
        ' · updated ', el('time', { datetime: d.updated_at, title: d.updated_at }, ago(d.updated_at) + ' ago')));
  }

  function resourceItem(r) {
    const doi = r.doi || r.concept_doi;
    return el('li', { 'data-id': r.id },
      statusLink(r.id, r.name), ' ', el('code', {}, r.id),
      el('div', { class: 'meta' },
        'version ', el('strong', { class: 'version' }, r.latest_version || '?'), ' · ' + (r.type || ''),
        r.published_at ? [' · published ', el('time', { datetime: r.published_at, title: r.published_at }, ago(r.published_at) + ' ago')] : null,
        ' · ', doi ? el('a', { class: 'badge doi', href: 'https://doi.org/' + encodeURI(doi) }, 'DOI ' + doi)
          : el('span', { class: 'muted' }, 'no DOI yet')));
  }

  async function load() {
    const u = await BO.me();
    if (!u) { $('my-signin').hidden = false; return; }
    try {
      const data = await api('GET', '/api/v1/me/resources');
      $('my-drafts').replaceChildren(...(data.drafts.length ? data.drafts.map(draftItem)
        : [el('li', { class: 'muted' }, 'No drafts in progress. ', el('a', { href: '/' }, 'Upload a package'), '.')]));
      $('my-resources').replaceChildren(...(data.resources.length ? data.resources.map(resourceItem)
        : [el('li', { class: 'muted' }, 'None yet: resources appear here once a reviewer has published them.')]));
      $('my').hidden = false;
    } catch (e) {
      $('my-msg').textContent = e.message;
      $('my-msg').hidden = false;
    }
  }
  load();
})();
