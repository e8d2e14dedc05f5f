/* maintainers: who may act as maintainer of a concept (take part in its chat, upload its
 * next revision, see its jobs). Read-only: maintainers are not stored, they follow
 * from the concept's creator, its draft's uploader and the emails in its RDF. */
#ifndef BO_MAINTAINERS_H
#define BO_MAINTAINERS_H

#include <sqlite3.h>

struct auth_user;
struct bo_error;

/* Whether user may act as maintainer of concept_id: any reviewer/admin; the concept's creator
 * (concepts.created_by); the uploader of its draft; any authors[].email / maintainers[].email
 * (case-insensitive) in the rdf_json of its latest published version (state 'published',
 * highest published_at) or, if it has none, of its draft. A NULL or disabled user, and an
 * unknown concept, give 0. Returns 1/0, or BO_EDATABASE (BO_ENOMEM) on failure. */
int maintainers_includes(sqlite3 *c, const struct auth_user *user, const char *concept_id,
			 struct bo_error *err);

#endif
