// upload.js: the upload page — pick or drop a zip, an optional id checked live with
// GET /api/v1/ids/{id} (with a suggestion), and a multipart upload through XMLHttpRequest so
// the progress bar shows the bytes really sent. On 202 it goes to the draft's status page.
'use strict';

(() => {
  const { el, api, announce, bytes, token } = BO;
  const $ = (id) => document.getElementById(id);
  const form = $('upload-form'), input = $('package'), drop = $('drop'), idIn = $('concept-id');
  const idCheck = $('id-check'), sugg = $('use-suggestion'), msg = $('upload-msg');
  const box = $('progress-box'), bar = $('progress'), barText = $('progress-text');
  let file = null;

  const q = new URLSearchParams(location.search);
  if (q.get('id')) idIn.value = q.get('id');

  function choose(f) {
    file = f || null;
    $('chosen').textContent = file ? file.name + ' (' + bytes(file.size) + ')' : '';
  }
  input.addEventListener('change', () => choose(input.files[0]));
  ['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  }));
  ['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, () => drop.classList.remove('over')));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
  });

  // live id check, debounced; the newest answer wins
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
  if (idIn.value) checkId();

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
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!token()) { announce(msg, 'Sign in first (by email, above).', 'bad'); return; }
    if (!file) { announce(msg, 'Choose a zip file first.', 'bad'); input.focus(); return; }
    const fd = new FormData();
    if (idIn.value.trim()) fd.append('id', idIn.value.trim());
    fd.append('package', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/uploads');
    xhr.setRequestHeader('Authorization', 'Bearer ' + token());
    xhr.setRequestHeader('Accept', 'application/json');
    box.hidden = false;
    bar.value = 0;
    barText.textContent = '0 %';
    msg.hidden = true;
    $('upload-btn').disabled = true;
    const cancel = $('cancel-btn');
    cancel.hidden = false;
    cancel.onclick = () => xhr.abort();
    xhr.addEventListener('loadend', () => { cancel.hidden = true; cancel.onclick = null; });
    xhr.addEventListener('abort', () => {
      $('upload-btn').disabled = false;
      box.hidden = true;
      announce(msg, 'Upload cancelled: nothing was kept. Choose the file again or upload another.', 'bad');
      $('upload-btn').focus();
    });
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) { barText.textContent = bytes(e.loaded) + ' sent'; return; }
      const pct = Math.floor((e.loaded / e.total) * 100);
      bar.value = pct;
      barText.textContent = bytes(e.loaded) + ' of ' + bytes(e.total) + ' (' + pct + ' %)';
    });
    xhr.addEventListener('load', () => {
      $('upload-btn').disabled = false;
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { body = null; }
      if (xhr.status === 202 && body && body.id) {
        bar.value = 100;
        barText.textContent = bytes(file.size) + ' of ' + bytes(file.size) + ' (100 %)';
        sessionStorage.setItem('bo_uploaded', JSON.stringify({ id: body.id, bytes: file.size, revision: body.revision }));
        announce(msg, 'Uploaded as ' + (body.id_emoji || '') + ' ' + body.id + ' (revision ' + body.revision + '). Opening its status page…', 'ok');
        setTimeout(() => { location.href = '/status/' + encodeURIComponent(body.id); }, 1200);
        return;
      }
      showProblem(body || { detail: 'HTTP ' + xhr.status });
    });
    xhr.addEventListener('error', () => {
      $('upload-btn').disabled = false;
      announce(msg, 'The upload was interrupted (network error). Try again.', 'bad');
    });
    xhr.send(fd);
  });

  BO.me().then((u) => { $('need-signin').hidden = !!u; });
})();
