/* version: the backoffice release, shown in validation summaries, test runs and logs. */
#ifndef BO_VERSION_H
#define BO_VERSION_H

#define BO_VERSION "0.4.0"

#endif
