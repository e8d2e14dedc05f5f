// detail.js: one published resource (/collection/{id}) — name, id with its emoji, type,
// description; its documentation rendered (markdown.js: sanitised); covers; authors,
// maintainers (names only), license, tags (links to a tag filter of the collection);
// versions with dates, DOIs and yanked marks; citation; the package zip and rdf.yaml.
// Reads /collection.json (the entry: thumbnails), GET /api/v1/resources/{id} (versions,
// concept DOI) and GET /api/v1/resources/{id}/versions/{v} (rdf, files) of the latest
// published version. Everything from the RDF is text (BO.el) or sanitised Markdown.
'use strict';

(() => {
  const { el, api } = BO;
  const id = decodeURIComponent(location.pathname.replace(/^\/collection\//, '').replace(/\/$/, ''));
  const root = document.getElementById('resource');
  const DOC_MAX = 1 << 20; // bytes of documentation rendered
  const ORCID = /^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$/;
  const enc = encodeURIComponent;

  const str = (v) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
  const list = (v) => (Array.isArray(v) ? v : []);
  const day = (iso) => (iso ? str(iso).slice(0, 10) : '');
  const doiLink = (doi, label) => el('a', { href: 'https://doi.org/' + doi, class: 'doi-link' }, label || doi);
  const httpUrl = (u) => { try { const x = new URL(str(u)); return /^https?:$/.test(x.protocol) ? x.href : null; } catch (_) { return null; } };
  const section = (sid, title, ...kids) => el('section', { id: sid, class: 'detail-section', 'aria-labelledby': sid + '-h' },
    el('h2', { id: sid + '-h' }, title), ...kids);

  // a relative path of the version's files, as files[].path spells it
  const normPath = (p) => str(p).replace(/^\.\//, '');
  function fileUrl(ver, path) {
    const f = list(ver.files).find((x) => x.path === normPath(path));
    return f ? f.url : null;
  }

  function authorItem(a) {
    const orcid = str(a.orcid).trim();
    return el('li', {}, el('span', { class: 'person' }, str(a.name) || 'unnamed'),
      a.affiliation ? el('span', { class: 'muted' }, ' — ' + str(a.affiliation)) : null,
      ORCID.test(orcid) ? [' ', el('a', { href: 'https://orcid.org/' + orcid, class: 'orcid', 'aria-label': 'ORCID of ' + str(a.name) }, 'ORCID ' + orcid)] : null);
  }

  function citeItem(c) {
    const url = httpUrl(c.url);
    const doi = str(c.doi).replace(/^https?:\/\/(dx\.)?doi\.org\//, '');
    return el('li', {}, str(c.text) || 'reference',
      doi ? [' ', doiLink(doi, 'doi:' + doi)] : null,
      url ? [' ', el('a', { href: url, rel: 'noopener noreferrer nofollow' }, url)] : null);
  }

  async function documentation(box, ver, rdf) {
    const doc = str(rdf.documentation);
    if (!doc) { box.replaceChildren(el('p', { class: 'muted' }, 'This resource has no documentation.')); return; }
    const external = httpUrl(doc);
    const url = external ? null : fileUrl(ver, doc);
    if (!url) {
      box.replaceChildren(el('p', {}, 'Documentation: ', external ?
        el('a', { href: external, rel: 'noopener noreferrer nofollow' }, external) : el('code', {}, doc + ' (not in the package)')));
      return;
    }
    try {
      // from our own origin (the storage URL may be another one, which connect-src refuses);
      // relative links and images still resolve against the file's URL
      const api = '/api/v1/resources/' + enc(id) + '/versions/' + enc(ver.version) + '/documentation';
      const res = await fetch(api, { headers: { Accept: 'text/markdown, text/plain' } });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      let text = await res.text();
      if (text.length > DOC_MAX) text = text.slice(0, DOC_MAX);
      const md = el('div', { class: 'markdown', id: 'doc-body' });
      md.append(BOMarkdown.render(text, new URL(url, location.href).href));
      box.replaceChildren(md, el('p', { class: 'muted' }, 'From ', el('a', { href: url }, normPath(doc)), ' of the package.'));
    } catch (e) {
      box.replaceChildren(el('p', { class: 'notice bad' }, 'The documentation could not be shown: ' + e.message + '. ',
        el('a', { href: url }, 'Open ' + normPath(doc))));
    }
  }

  function versionItem(v, current) {
    const yanked = v.state === 'yanked';
    const pkg = '/api/v1/resources/' + enc(id) + '/versions/' + enc(v.version) + '/package.zip';
    return el('li', { class: 'version' + (yanked ? ' yanked' : ''), 'data-version': v.version },
      el('strong', {}, 'v' + v.version), ' ',
      el('time', { datetime: str(v.published || v.created) }, day(v.published || v.created)),
      v.version === current ? el('span', { class: 'badge ok' }, 'latest') : null, ' ',
      v.doi ? doiLink(v.doi, 'DOI ' + v.doi) : el('span', { class: 'badge muted' }, 'no DOI yet'),
      yanked ? [' ', el('span', { class: 'badge bad' }, 'yanked'), v.yank_reason ? el('span', { class: 'muted' }, ' ' + str(v.yank_reason)) : null] : null,
      ' ', el('a', { href: pkg, download: '' }, 'zip'));
  }

  function render(res, ver, entry) {
    const rdf = ver.rdf || {};
    const name = str(rdf.name) || (entry && entry.name) || id;
    document.title = name + ' — BioImage Model Zoo backoffice';
    const versions = list(res.versions).filter((v) => v.state === 'published' || v.state === 'yanked');
    const base = ver.links && ver.links.rdf ? ver.links.rdf.replace(/rdf\.yaml$/, '') : null;
    const pkg = '/api/v1/resources/' + enc(id) + '/versions/' + enc(ver.version) + '/package.zip';

    // covers: the collection's thumbnails when it has them, each linking to the full image
    const full = list(rdf.covers).map((c) => fileUrl(ver, c) || (httpUrl(c) ? null : base && base + normPath(c)));
    const thumbs = entry && list(entry.covers).length ? list(entry.covers) : full;
    const covers = thumbs.filter(Boolean).map((src, i) => el('li', {},
      el('a', { href: full[i] || src }, el('img', { src, alt: 'Cover ' + (i + 1) + ' of ' + name, class: 'cover', loading: 'lazy' }))));

    const maint = list(rdf.maintainers).map((m) => str(m.name) || str(m.github_user)).filter(Boolean);
    const concept = res.concept_doi || ver.concept_doi;
    const docBox = el('div', { id: 'documentation-body' }, el('p', {}, 'Loading the documentation…'));
    root.replaceChildren(
      el('h1', { id: 'name' }, name),
      el('p', { class: 'ident' }, el('span', { 'aria-hidden': 'true' }, (res.id_emoji || '') + ' '),
        el('code', { class: 'rid', id: 'rid' }, id), ' ', el('span', { class: 'badge type' }, res.type || rdf.type),
        ' v' + ver.version, ver.yanked ? [' ', el('span', { class: 'badge bad' }, 'yanked')] : null),
      rdf.description ? el('p', { class: 'desc', id: 'description' }, str(rdf.description)) : null,
      el('p', { class: 'actions' },
        el('a', { class: 'button', id: 'download', href: pkg, download: '' }, 'Download the package (zip)'), ' ',
        ver.links && ver.links.rdf ? el('a', { id: 'rdf-link', href: ver.links.rdf }, 'rdf.yaml') : null),
      covers.length ? section('covers', 'Covers', el('ul', { class: 'gallery' }, covers)) : null,
      section('documentation', 'Documentation', docBox),
      el('div', { class: 'detail-grid' },
        section('authors', 'Authors', list(rdf.authors).length ? el('ul', { class: 'people' }, list(rdf.authors).map(authorItem)) :
          el('p', { class: 'muted' }, 'No authors listed.')),
        maint.length ? section('maintainers', 'Maintainers', el('ul', { class: 'people' }, maint.map((m) => el('li', {}, m)))) : null,
        section('license', 'License', el('p', { id: 'license-id' }, str(rdf.license) || 'not stated')),
        section('tags', 'Tags', list(rdf.tags).length ? el('p', { class: 'tags' }, list(rdf.tags).map((t) =>
          el('a', { class: 'tag', href: '/collection?q=' + enc(str(t)) }, str(t)))) : el('p', { class: 'muted' }, 'No tags.'))),
      section('versions', 'Versions', el('ul', { class: 'versions' }, versions.map((v) => versionItem(v, ver.version)))),
      list(ver.compatibility).length ? section('compatibility', 'Works in', BO.compatView(ver.compatibility)) : null,
      section('citation', 'Citation',
        list(rdf.cite).length ? el('ul', { class: 'cite' }, list(rdf.cite).map(citeItem)) : null,
        el('p', { id: 'cite-this' }, 'Cite this resource: ', name + ', BioImage Model Zoo, ',
          concept ? doiLink(concept, 'https://doi.org/' + concept) :
            [el('span', { class: 'muted' }, 'no DOI yet — '), el('a', { href: location.href }, location.href)])));
    documentation(docBox, ver, rdf);
  }

  async function load() {
    let res;
    try {
      res = await api('GET', '/api/v1/resources/' + enc(id));
    } catch (e) {
      document.title = 'No resource ' + id + ' — BioImage Model Zoo backoffice';
      root.replaceChildren(el('h1', {}, e.status === 404 ? 'No resource ' + id : 'The resource could not be loaded'),
        el('p', { class: 'notice bad', id: 'not-found' }, e.status === 404 ? 'There is no resource “' + id + '” in the collection.' : e.message),
        el('p', {}, el('a', { href: '/collection' }, 'Browse the collection')));
      return;
    }
    const versions = list(res.versions);
    const latest = versions.find((v) => v.state === 'published') || versions.find((v) => v.state === 'yanked');
    if (!latest) {
      root.replaceChildren(el('h1', {}, id), el('p', { class: 'notice', id: 'not-found' }, 'No version of ' + id + ' is published yet. ',
        el('a', { href: '/status/' + enc(id) }, 'See its status')));
      return;
    }
    let ver, entry = null;
    try {
      const [v, c] = await Promise.all([
        api('GET', '/api/v1/resources/' + enc(id) + '/versions/' + enc(latest.version)),
        api('GET', '/collection.json').catch(() => null)]);
      ver = v;
      entry = c && list(c.collection).find((e) => e.id === id) || null;
    } catch (e) {
      root.replaceChildren(el('p', { class: 'notice bad' }, 'The version could not be loaded: ' + e.message));
      return;
    }
    render(res, ver, entry);
  }
  load();
})();
