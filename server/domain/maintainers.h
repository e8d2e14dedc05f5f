/* maintainers: who may act as maintainer of a concept (take part in its chat, upload its
 * next revision, see its jobs). Read-only: maintainers are not stored, they follow
 * from the concept's creator, its draft's uploader and the emails in its RDF. */
#ifndef BO_MAINTAINERS_H
#define BO_MAINTAINERS_H

#include <sqlite3.h>

struct auth_user;
struct bo_error;
struct cJSON;

/* Whether user may act as maintainer of concept_id: any reviewer/admin; the concept's creator
 * (concepts.created_by); the uploader of its draft; any authors[].email / maintainers[].email
 * (case-insensitive) in the rdf_json of its latest published version (state 'published',
 * highest published_at) or, if it has none, of its draft. A NULL or disabled user, and an
 * unknown concept, give 0. Returns 1/0, or BO_EDATABASE (BO_ENOMEM) on failure. */
int maintainers_includes(sqlite3 *c, const struct auth_user *user, const char *concept_id,
			 struct bo_error *err);

/* What user uploads and maintains, for their "My uploads" page: into mine (an object) adds
 * "drafts": [{id, name, type, state, revision, updated_at}] (drafts they uploaded, newest
 * first) and "resources": [{id, name, type, latest_version, doi, concept_doi, published_at}]
 * (published concepts they maintain by the rule of maintainers_includes without its
 * reviewer/admin clause, so a reviewer sees their own and not everyone's), each list at most
 * limit items from offset. BO_EDATABASE or BO_ENOMEM on failure. */
int maintainers_list_mine(sqlite3 *c, const struct auth_user *user, int limit, int offset, struct cJSON *mine,
			  struct bo_error *err);

#endif
