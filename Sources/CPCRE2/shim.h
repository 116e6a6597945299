#ifndef CPCRE2_SHIM_H
#define CPCRE2_SHIM_H
// pcre2.h refuses to compile without a code unit width; Menshen scans UTF-8 only.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
