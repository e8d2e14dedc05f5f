// markdown.js: an uploader's Markdown (the RDF's `documentation`) as a sanitised
// DocumentFragment. marked parses it (/static/vendor/marked.min.js), DOMPurify cleans the
// HTML it made (/static/vendor/purify.min.js) and returns DOM nodes, never a string that
// someone could assign to innerHTML. Raw HTML in the Markdown is shown as text, not
// parsed: even an inert parse makes Chromium report every on… and style attribute as a CSP
// violation, and the Markdown syntax covers what a README needs. What survives: plain HTML elements (no script, style,
// iframe, object, embed, form, input, SVG or MathML), no on… or style attributes, links
// only to http(s), mailto or relative URLs (resolved against the document's own URL, so
// `images/a.png` is the version's /files/ object) with rel="noopener noreferrer nofollow",
// images only from this server or the files' origin (anything else shows its alt text:
// the CSP's img-src would refuse it anyway).
'use strict';

const BOMarkdown = (() => {
  const FORBID_TAGS = ['script', 'style', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form',
    'input', 'button', 'select', 'option', 'textarea', 'link', 'meta', 'base', 'svg', 'math', 'template', 'noscript'];
  const LINK_PROTOCOLS = ['http:', 'https:', 'mailto:'];

  const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  function resolve(url, base) {
    try { return new URL(url, base); } catch (_) { return null; }
  }

  // text: the Markdown; base: the absolute URL of the document (relative URLs resolve
  // against it). Returns a DocumentFragment safe to append.
  function render(text, base) {
    if (typeof marked === 'undefined' || typeof DOMPurify === 'undefined')
      throw new Error('the Markdown libraries are not loaded (/static/vendor/)');
    const md = new marked.Marked({ async: false, gfm: true, renderer: { html: (t) => escapeHtml(t.text || t.raw || '') } });
    const html = md.parse(String(text || ''));
    const baseUrl = resolve(base || location.href, location.href);
    const imageOrigins = new Set([location.origin, baseUrl ? baseUrl.origin : location.origin]);
    const purify = DOMPurify(window); // our own instance: its hooks touch no other caller
    purify.addHook('uponSanitizeAttribute', (node, data) => {
      if (/^on/i.test(data.attrName) || data.attrName === 'style') data.keepAttr = false;
    });
    purify.addHook('afterSanitizeAttributes', (node) => {
      if (node.hasAttribute('href')) {
        const raw = node.getAttribute('href');
        if (raw.startsWith('#')) {
          node.setAttribute('href', raw);
        } else {
          const u = resolve(raw, baseUrl);
          if (u && LINK_PROTOCOLS.includes(u.protocol)) node.setAttribute('href', u.href);
          else node.removeAttribute('href');
        }
        if (node.tagName === 'A') node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
      if (node.tagName === 'IMG') {
        const u = node.hasAttribute('src') ? resolve(node.getAttribute('src'), baseUrl) : null;
        if (u && (u.protocol === 'http:' || u.protocol === 'https:') && imageOrigins.has(u.origin)) {
          node.setAttribute('src', u.href);
          node.setAttribute('loading', 'lazy');
        } else {
          node.removeAttribute('src');
          node.setAttribute('data-blocked', 'external image');
        }
        node.removeAttribute('srcset');
      }
    });
    const frag = purify.sanitize(html, {
      RETURN_DOM_FRAGMENT: true,
      USE_PROFILES: { html: true },
      FORBID_TAGS,
      FORBID_ATTR: ['style', 'srcset', 'action', 'formaction', 'target', 'ping'],
      ALLOW_DATA_ATTR: false,
    });
    // blocked images become their alt text, so nothing asks for a URL the CSP refuses
    for (const img of frag.querySelectorAll('img[data-blocked]')) {
      img.replaceWith(document.createTextNode(img.getAttribute('alt') ? '[image: ' + img.getAttribute('alt') + ']' : '[image]'));
    }
    return frag;
  }

  return { render };
})();
