// signin.js: the landing page of a mailed sign-in link (/signin/{token}). It exchanges the
// token with a POST (never on GET, so link previews cannot use it up), keeps the session
// token in localStorage and removes the link from the address bar and history.
'use strict';

(async () => {
  const out = document.getElementById('signin-result');
  const link = decodeURIComponent(location.pathname.replace(/^\/signin\//, ''));
  history.replaceState(null, '', '/');
  try {
    const r = await BO.api('POST', '/api/v1/signin/' + encodeURIComponent(link));
    BO.setToken(r.token);
    out.textContent = 'Signed in as ' + r.user.name + ' <' + r.user.email + '> (' + r.user.role + ').';
    out.className = 'notice ok';
    await BO.header();
  } catch (e) {
    out.textContent = e.message;
    out.className = 'notice bad';
  }
})();
