// upload.js: the upload page. Choosing a zip (picker, drop, or the keyboard on the drop zone)
// first checks it in the page: the zip's directory and its RDF are read with ZipRead (never the
// whole file), the server validates the RDF alone (POST /api/v1/validate, the same static
// checks an upload gets, plus every file the RDF names being in the zip), and the page shows
// each problem once with its file name and line, or a preview (name, type, authors, license,
// covers read from the zip as blob: URLs). Upload stays disabled while the check runs and when
// it failed: the server would refuse the same zip. An optional id is checked live with
// GET /api/v1/ids/{id}; the multipart upload goes through XMLHttpRequest so the bar shows the
// bytes really sent, and a screen reader hears only its milestones. On 202 the status page.
'use strict';

(() => {
  const { el, api, bytes, token } = BO;
  const $ = (id) => document.getElementById(id);
  const form = $('upload-form'), input = $('package'), drop = $('drop'), idIn = $('concept-id');
  const idCheck = $('id-check'), sugg = $('use-suggestion'), msg = $('upload-msg'), btn = $('upload-btn');
  const box = $('progress-box'), bar = $('progress'), barText = $('progress-text'), live = $('progress-live');
  const checkBox = $('check-box'), checkStatus = $('check-status'), checkList = $('check-problems');
  const preview = $('preview'), previewRdf = $('preview-rdf'), previewCovers = $('preview-covers');
  // the server's bounds (common/limits.h): RDF text, zip entries; covers shown in the preview
  const MAX_RDF_BYTES = 4 << 20, MAX_ENTRIES = 10000, MAX_COVER_BYTES = 8 << 20, MAX_COVERS = 6;
  const IMAGE_TYPES = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };
  let file = null;
  let check = 'none'; // none | checking | passed | failed | unchecked (could not check here; the server will)
  let sending = false;
  let blobUrls = [];

  const q = new URLSearchParams(location.search);
  if (q.get('id')) idIn.value = q.get('id');

  function syncButton() {
    btn.disabled = sending || check === 'checking' || check === 'failed';
  }

  // --- choosing the file: the picker, a drop, or Enter/Space on the drop zone
  function choose(f) {
    file = f || null;
    $('chosen').textContent = file ? 'Chosen: ' + file.name + ' (' + bytes(file.size) + ')' : '';
    msg.hidden = true;
    checkZip(file);
  }
  input.addEventListener('change', () => choose(input.files[0]));
  drop.addEventListener('click', () => input.click());
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
  ['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  }));
  ['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, () => drop.classList.remove('over')));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
  });

  // --- the check before sending
  // The RDF among the entry names, by the server's rule (common/rdf.c rdf_find_name): folders
  // and macOS junk left out; at the top level, or inside the one folder that holds everything;
  // rdf.yaml before bioimageio.yaml before *.bioimageio.yaml before *.rdf.yaml; two of the best
  // kind is ambiguous.
  function rdfKind(base) {
    if (base.startsWith('._')) return -1;
    if (base === 'rdf.yaml') return 0;
    if (base === 'bioimageio.yaml') return 1;
    if (base.length > 16 && base.endsWith('.bioimageio.yaml')) return 2;
    if (base.length > 9 && base.endsWith('.rdf.yaml')) return 3;
    return -1;
  }
  function fileNames(entries) {
    return entries.map((e) => e.name.replace(/^(\.\/)+/, '')).filter((n) => n && !n.endsWith('/') &&
      !n.startsWith('__MACOSX/') && n.split('/').pop() !== '.DS_Store');
  }
  function findRdf(names) {
    let prefix = '';
    if (names.length && !names.some((n) => !n.includes('/'))) {
      const first = names[0].slice(0, names[0].indexOf('/') + 1);
      if (!names.every((n) => n.startsWith(first))) return { error: 'the package has no rdf.yaml or bioimageio.yaml at its top' };
      prefix = first;
    }
    let best = 4, found = [];
    for (const n of names) {
      const rest = n.slice(prefix.length);
      if (rest.includes('/')) continue;
      const k = rdfKind(rest);
      if (k < 0) continue;
      if (k < best) { best = k; found = []; }
      if (k === best) found.push(n);
    }
    if (!found.length) return { error: 'the package has no rdf.yaml or bioimageio.yaml' };
    if (found.length > 1) return { error: 'the package has ' + found.length + ' candidate RDF files: ' + found.join(', ') };
    return { name: found[0], prefix: found[0].slice(0, found[0].lastIndexOf('/') + 1) };
  }

  let checkSeq = 0;
  function setCheck(state, text, kind) {
    check = state;
    checkBox.hidden = state === 'none';
    checkStatus.textContent = text || '';
    checkStatus.className = 'notice ' + (kind || '');
    syncButton();
  }
  function clearPreview() {
    blobUrls.forEach((u) => URL.revokeObjectURL(u));
    blobUrls = [];
    checkList.replaceChildren();
    checkList.hidden = true;
    previewRdf.replaceChildren();
    previewCovers.replaceChildren();
    preview.hidden = true;
  }

  // One problem: "bioimageio.yaml line 12, column 3 · authors.0.name: field required".
  function problemLi(p, file) {
    const f = p.file || file;
    const where = [el('code', {}, f + (p.line ? ':' + p.line + (p.column ? ':' + p.column : '') : ''))];
    if (p.line) where.push(' (line ' + p.line + (p.column ? ', column ' + p.column : '') + ')');
    const loc = (p.loc || []).join('.');
    return el('li', { class: 'problem error' }, el('span', { class: 'badge bad' }, 'error'), ' ', where,
      loc ? [' ', el('code', { class: 'loc' }, loc)] : null, ': ', p.msg || p.type || '');
  }

  async function checkZip(f) {
    const mine = ++checkSeq;
    clearPreview();
    if (!f) { setCheck('none'); return; }
    setCheck('checking', 'Checking the RDF in ' + f.name + '…');
    const stale = () => mine !== checkSeq;
    let zip, rdf, text;
    try {
      zip = await ZipRead.list(f, MAX_ENTRIES);
      if (stale()) return;
      const names = fileNames(zip.entries);
      rdf = findRdf(names);
      if (rdf.error) { setCheck('failed', 'Not uploadable: ' + rdf.error + '.', 'bad'); return; }
      const entry = zip.entries.find((e) => e.name.replace(/^(\.\/)+/, '') === rdf.name);
      if (entry.usize > MAX_RDF_BYTES) {
        setCheck('failed', 'Not uploadable: ' + rdf.name + ' is ' + bytes(entry.usize) + '; the server reads RDFs of at most ' +
          bytes(MAX_RDF_BYTES) + '.', 'bad');
        return;
      }
      const raw = await ZipRead.read(f, entry, MAX_RDF_BYTES);
      if (stale()) return;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
      } catch (_) {
        setCheck('failed', 'Not uploadable: ' + rdf.name + ' is not UTF-8 text.', 'bad');
        return;
      }
      rdf.names = names;
    } catch (e) {
      if (stale()) return;
      if (e instanceof ZipRead.ZipError) setCheck('failed', 'Not uploadable: ' + e.message + '.', 'bad');
      else setCheck('unchecked', 'The zip could not be read in the page (' + e.message + '); the server checks it when you upload.', 'warn');
      return;
    }
    if (!token()) {
      setCheck('unchecked', 'Found ' + rdf.name + '. Sign in (above) to have it checked before uploading.', 'warn');
      return;
    }
    let res = null, problem = null;
    try {
      res = await api('POST', '/api/v1/validate', { rdf: text, rdf_file: rdf.name, files: rdf.names });
    } catch (e) {
      problem = e;
    }
    if (stale()) return;
    if (problem && problem.status === 422 && problem.problem.errors) {
      const errs = problem.problem.errors;
      checkList.replaceChildren(...errs.map((p) => problemLi(p, rdf.name)));
      checkList.hidden = !errs.length;
      setCheck('failed', rdf.name + ' has ' + errs.length + (errs.length === 1 ? ' problem' : ' problems') +
        ' to fix before this package can be uploaded:', 'bad');
      showPreview(f, zip, rdf, problem.problem.preview);
      return;
    }
    if (problem && problem.status === 422) { setCheck('failed', 'Not uploadable: ' + problem.message, 'bad'); return; }
    if (problem && problem.status === 401) { setCheck('unchecked', 'Sign in again (above) to have the RDF checked.', 'warn'); return; }
    if (problem) {
      setCheck('unchecked', 'The RDF could not be checked here (' + problem.message + '); the server checks it when you upload.', 'warn');
      return;
    }
    const w = res.warnings || 0;
    setCheck('passed', '✓ ' + rdf.name + ' passed the check' + (w ? ' (' + w + (w === 1 ? ' warning' : ' warnings') + ')' : '') +
      '. The files it names are in the zip; the tests run after the upload.', 'ok');
    showPreview(f, zip, rdf, res.preview);
  }

  // Name, type, authors, license and the covers (read out of the zip, shown as blob: URLs).
  async function showPreview(f, zip, rdf, p) {
    if (!p) return;
    const mine = checkSeq;
    const rows = [['Name', p.name], ['Type', p.type], ['Authors', (p.authors || []).join(', ')], ['License', p.license],
      ['Id', p.id]];
    previewRdf.replaceChildren(...rows.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
    preview.hidden = false;
    const covers = (p.covers || []).slice(0, MAX_COVERS);
    for (let i = 0; i < covers.length; i++) {
      const c = covers[i];
      const label = 'Cover ' + (i + 1) + ' of ' + covers.length + (p.name ? ' of ' + p.name : '');
      if (/^[a-z][a-z0-9+.-]*:/i.test(c)) { // a URL: not fetched from here
        previewCovers.append(el('p', { class: 'muted' }, label + ': ', el('code', {}, c), ' (a link, shown after the upload)'));
        continue;
      }
      const path = rdf.prefix + c.replace(/^(\.\/)+/, '');
      const entry = zip.entries.find((e) => e.name.replace(/^(\.\/)+/, '') === path);
      const type = IMAGE_TYPES[(path.split('.').pop() || '').toLowerCase()];
      if (!entry || !type || path.split('/').includes('..')) {
        previewCovers.append(el('p', { class: 'muted' }, label + ': ', el('code', {}, c), entry ? ' (not an image shown here)' : ' (not in the zip)'));
        continue;
      }
      try {
        const data = await ZipRead.read(f, entry, MAX_COVER_BYTES);
        if (mine !== checkSeq) return;
        const url = URL.createObjectURL(new Blob([data], { type }));
        blobUrls.push(url);
        previewCovers.append(el('img', { class: 'cover', src: url, alt: label }));
      } catch (e) {
        if (mine !== checkSeq) return;
        previewCovers.append(el('p', { class: 'muted' }, label + ': ', el('code', {}, c), ' (' + e.message + ')'));
      }
    }
  }

  // --- live id check, debounced; the newest answer wins
  let seq = 0, timer = null;
  idIn.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(checkId, 250);
  });
  async function checkId() {
    const id = idIn.value.trim();
    const mine = ++seq;
    sugg.hidden = true;
    if (!id) { idCheck.textContent = 'A new id will be chosen for you.'; idCheck.className = 'muted'; return; }
    try {
      const r = await api('GET', '/api/v1/ids/' + encodeURIComponent(id));
      if (mine !== seq) return;
      if (!r.valid) {
        idCheck.textContent = '✗ ' + (r.reason || 'not a valid id');
        idCheck.className = 'bad';
      } else if (r.taken && r.you_maintain) {
        idCheck.textContent = '✓ New revision of ' + r.emoji + ' ' + id + ' — you maintain it.';
        idCheck.className = 'ok';
        return;
      } else if (r.taken) {
        idCheck.textContent = r.emoji + ' ' + id + ' exists: the upload becomes a new revision of it (you must be one of its maintainers).';
        idCheck.className = 'warn';
      } else {
        idCheck.textContent = '✓ ' + r.emoji + ' ' + id + ' is free (' + r.type + ').';
        idCheck.className = 'ok';
        return;
      }
      const s = await api('GET', '/api/v1/ids/suggest' + (r.type ? '?type=' + encodeURIComponent(r.type) : ''));
      if (mine !== seq) return;
      sugg.textContent = 'Use ' + s.emoji + ' ' + s.id + ' instead';
      sugg.dataset.id = s.id;
      sugg.hidden = false;
    } catch (e) {
      if (mine === seq) { idCheck.textContent = e.message; idCheck.className = 'bad'; }
    }
  }
  sugg.addEventListener('click', () => { idIn.value = sugg.dataset.id; checkId(); idIn.focus(); });
  // the answer depends on who is signed in: ask once the session is known
  BO.me().then(() => { if (idIn.value) checkId(); });

  // A refusal for a person: each problem once (errors[] is the validation's errors, so the
  // summary is read only when there is no errors[]), in words for the page rather than the
  // API's ("'errors' lists them all"), and no progress bar at 100 % beside it.
  function showProblem(p) {
    let problems = p.errors || [];
    if (!problems.length && p.validation) {
      for (const d of p.validation.details || []) problems = problems.concat(d.errors || []);
    }
    const items = problems.map((e) => BO.problemItem(e, 'error'));
    const n = items.length;
    const text = n ? 'The package was refused: ' + n + (n === 1 ? ' problem' : ' problems') +
      ' to fix in its RDF, then upload it again.' : (p.detail || p.title || 'The upload was refused.');
    // replaceChildren would write a null child as the text "null"
    msg.replaceChildren(...[el('p', {}, text),
      n ? el('ul', { class: 'problems', id: 'problems' }, items) : null,
      p.suggestion ? el('p', {}, 'Suggested id: ', el('code', {}, p.suggestion)) : null].filter(Boolean));
    msg.className = 'notice bad';
    msg.hidden = false;
    box.hidden = true;
    say('Refused: ' + text);
  }
  function note(text, kind) {
    msg.replaceChildren(text);
    msg.className = 'notice ' + (kind || '');
    msg.hidden = !text;
  }

  // --- progress: the bar and its text follow every event; the live region says milestones only
  function say(text) { live.textContent = text; }
  function setBar(pct, text) {
    bar.value = pct;
    bar.setAttribute('aria-valuenow', String(pct));
    bar.setAttribute('aria-valuetext', text);
    barText.textContent = text;
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!token()) { note('Sign in first (by email, above).', 'bad'); return; }
    if (!file) { note('Choose a zip file first.', 'bad'); drop.focus(); return; }
    if (check === 'checking' || check === 'failed') return;
    const fd = new FormData();
    if (idIn.value.trim()) fd.append('id', idIn.value.trim());
    fd.append('package', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/uploads');
    xhr.setRequestHeader('Authorization', 'Bearer ' + token());
    xhr.setRequestHeader('Accept', 'application/json');
    box.hidden = false;
    setBar(0, '0 %');
    say('Upload of ' + file.name + ' started (' + bytes(file.size) + ').');
    let milestone = 0;
    msg.hidden = true;
    sending = true;
    syncButton();
    const cancel = $('cancel-btn');
    cancel.hidden = false;
    cancel.onclick = () => xhr.abort();
    const done = () => { sending = false; syncButton(); };
    xhr.addEventListener('loadend', () => { cancel.hidden = true; cancel.onclick = null; });
    xhr.addEventListener('abort', () => {
      done();
      box.hidden = true;
      note('Upload cancelled: nothing was kept. Choose the file again or upload another.', 'bad');
      say('Upload cancelled.');
      btn.focus();
    });
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) { barText.textContent = bytes(e.loaded) + ' sent'; return; }
      const pct = Math.floor((e.loaded / e.total) * 100);
      setBar(pct, bytes(e.loaded) + ' of ' + bytes(e.total) + ' (' + pct + ' %)');
      const m = Math.floor(pct / 25) * 25;
      if (m > milestone && m < 100) { milestone = m; say(m + ' % sent.'); }
    });
    xhr.upload.addEventListener('load', () => say('All of ' + file.name + ' sent; the server is checking it.'));
    xhr.addEventListener('load', () => {
      done();
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { body = null; }
      if (xhr.status === 202 && body && body.id) {
        setBar(100, bytes(file.size) + ' of ' + bytes(file.size) + ' (100 %)');
        sessionStorage.setItem('bo_uploaded', JSON.stringify({ id: body.id, bytes: file.size, revision: body.revision }));
        const t = 'Accepted as ' + (body.id_emoji || '') + ' ' + body.id + ' (revision ' + body.revision + '). Opening its status page…';
        note(t, 'ok');
        say(t);
        setTimeout(() => { location.href = '/status/' + encodeURIComponent(body.id); }, 1200);
        return;
      }
      showProblem(body || { detail: 'HTTP ' + xhr.status });
    });
    xhr.addEventListener('error', () => {
      done();
      note('The upload was interrupted (network error). Try again.', 'bad');
      say('The upload was interrupted.');
    });
    xhr.send(fd);
  });

  BO.me().then((u) => { $('need-signin').hidden = !!u; });
})();
