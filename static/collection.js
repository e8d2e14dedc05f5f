// collection.js: the published collection (/collection.json) as cards — cover, name, id with
// its emoji, type, tags, DOI badge — filtered by type and by free text, in the URL's query so
// a filtered view can be linked.
'use strict';

(() => {
  const { el, api } = BO;
  const $ = (id) => document.getElementById(id);
  const type = $('f-type'), q = $('f-q'), cards = $('cards'), count = $('count');
  let entries = [];
  const params = new URLSearchParams(location.search);

  function text(e) {
    return [e.id, e.name, e.description, e.type, e.nickname, (e.tags || []).join(' '),
      (e.authors || []).map((a) => a.name).join(' ')].join(' ').toLowerCase();
  }

  function card(e) {
    const cover = (e.covers || [])[0];
    const doi = e.concept_doi;
    return el('li', { class: 'rcard', 'data-id': e.id },
      cover ? el('img', { src: cover, alt: '', class: 'cover', loading: 'lazy' }) : el('div', { class: 'cover none', 'aria-hidden': 'true' }, e.nickname_icon || e.icon || ''),
      el('h2', {}, e.name || e.id),
      el('p', {}, el('span', { 'aria-hidden': 'true' }, (e.nickname_icon || '') + ' '), el('code', { class: 'rid' }, e.id),
        ' ', el('span', { class: 'badge type' }, e.type),
        e.versions && e.versions.length ? ' v' + e.versions[0] : ''),
      e.description ? el('p', { class: 'desc' }, e.description) : null,
      el('p', { class: 'tags' }, (e.tags || []).slice(0, 12).map((t) => el('span', { class: 'tag' }, t))),
      el('p', {}, doi ? el('a', { class: 'badge doi', href: 'https://doi.org/' + doi }, 'DOI ' + doi) :
        el('span', { class: 'badge muted' }, 'no DOI yet'),
      ' ', e.rdf_source ? el('a', { href: e.rdf_source }, 'rdf.yaml') : null));
  }

  function render() {
    const t = type.value, words = q.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const shown = entries.filter((e) => (!t || e.type === t) && words.every((w) => text(e).includes(w)));
    cards.replaceChildren(...shown.map(card));
    count.textContent = shown.length + ' of ' + entries.length + ' resources';
    const p = new URLSearchParams();
    if (t) p.set('type', t);
    if (q.value.trim()) p.set('q', q.value.trim());
    history.replaceState(null, '', location.pathname + (p.toString() ? '?' + p : ''));
  }

  async function load() {
    try {
      const c = await api('GET', '/collection.json');
      entries = c.collection || [];
    } catch (e) {
      count.textContent = 'The collection could not be loaded: ' + e.message;
      return;
    }
    const types = [...new Set(entries.map((e) => e.type))].sort();
    type.append(...types.map((t) => el('option', { value: t }, t)));
    if (params.get('type')) type.value = params.get('type');
    if (params.get('q')) q.value = params.get('q');
    render();
  }
  type.addEventListener('change', render);
  q.addEventListener('input', render);
  $('filters').addEventListener('submit', (ev) => ev.preventDefault());
  load();
})();
