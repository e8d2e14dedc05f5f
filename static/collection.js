// collection.js: the published collection (/collection.json) as cards — cover, name (a link
// to the resource's page, /collection/{id}), id with its emoji, type, tags (links to that
// tag's filter), DOI badge — filtered by type and by free text and sorted by name, newest
// (the listed version's `created`) or downloads (`download_count`, when the collection
// counts them), all in the URL's query so a view can be linked.
'use strict';

(() => {
  const { el, api } = BO;
  const $ = (id) => document.getElementById(id);
  const type = $('f-type'), q = $('f-q'), sort = $('f-sort'), cards = $('cards'), count = $('count');
  const empty = $('empty'), sortNote = $('sort-note');
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
      el('h2', {}, el('a', { href: '/collection/' + encodeURIComponent(e.id), class: 'rlink' }, e.name || e.id)),
      el('p', {}, el('span', { 'aria-hidden': 'true' }, (e.nickname_icon || '') + ' '), el('code', { class: 'rid' }, e.id),
        ' ', el('span', { class: 'badge type' }, e.type),
        e.versions && e.versions.length ? ' v' + e.versions[0] : ''),
      e.description ? el('p', { class: 'desc' }, e.description) : null,
      el('p', { class: 'tags' }, (e.tags || []).slice(0, 12).map((t) =>
        el('a', { class: 'tag', href: '/collection?q=' + encodeURIComponent(t), onclick: (ev) => filterTag(ev, t) }, t))),
      el('p', {}, doi ? el('a', { class: 'badge doi', href: 'https://doi.org/' + doi }, 'DOI ' + doi) :
        el('span', { class: 'badge muted' }, 'no DOI yet'),
      ' ', e.rdf_source ? el('a', { href: e.rdf_source }, 'rdf.yaml') : null));
  }

  const downloads = (e) => (typeof e.download_count === 'number' ? e.download_count : -1);
  const SORTS = {
    name: (a, b) => String(a.name || a.id).localeCompare(String(b.name || b.id), undefined, { sensitivity: 'base' }),
    newest: (a, b) => String(b.created || '').localeCompare(String(a.created || '')) || SORTS.name(a, b),
    downloads: (a, b) => downloads(b) - downloads(a) || SORTS.name(a, b),
  };

  function filterTag(ev, t) {
    ev.preventDefault();
    q.value = t;
    render();
    q.focus();
  }

  function render() {
    const t = type.value, words = q.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const shown = entries.filter((e) => (!t || e.type === t) && words.every((w) => text(e).includes(w)));
    shown.sort(SORTS[sort.value] || SORTS.name);
    cards.replaceChildren(...shown.map(card));
    count.textContent = shown.length + ' of ' + entries.length + ' resources';
    if (!shown.length && entries.length) {
      const what = q.value.trim() ? 'No resource matches “' + q.value.trim() + '”' + (t ? ' among ' + t + 's' : '') + '.' :
        'No resource of type ' + t + '.';
      empty.replaceChildren(what + ' ', el('button', { type: 'button', class: 'secondary', id: 'clear-filter', onclick: clear }, 'Clear the filter'));
      empty.hidden = false;
    } else {
      empty.hidden = true;
      empty.replaceChildren();
    }
    const p = new URLSearchParams();
    if (t) p.set('type', t);
    if (q.value.trim()) p.set('q', q.value.trim());
    if (sort.value !== 'name') p.set('sort', sort.value);
    history.replaceState(null, '', location.pathname + (p.toString() ? '?' + p : ''));
  }

  function clear() {
    q.value = '';
    type.value = '';
    render();
    q.focus();
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
    // downloads only when the collection counts them (the reference writes "?" until then)
    const counted = entries.some((e) => typeof e.download_count === 'number');
    const opt = sort.querySelector('option[value="downloads"]');
    opt.disabled = !counted;
    sortNote.hidden = counted;
    const want = params.get('sort');
    if (want && SORTS[want] && (want !== 'downloads' || counted)) sort.value = want;
    render();
  }
  type.addEventListener('change', render);
  q.addEventListener('input', render);
  sort.addEventListener('change', render);
  $('filters').addEventListener('submit', (ev) => ev.preventDefault());
  load();
})();
