/* fuzz_check.h - owns: the checks several canary fuzz targets make on a sc_contract_result: every
 * kept string is NUL-terminated inside its array and is "" or a token of its charset (the privacy
 * rule: nothing else from a response body may be kept), and counts stay inside their bounds.
 * Header-only, for tests/fuzz targets. */
#ifndef SC_FUZZ_CHECK_H
#define SC_FUZZ_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "canary/contract.h"
#include "canary/token.h"

static inline void fuzz_check_token(const char *s, size_t cap, sc_token_charset cs)
{
    size_t n = strnlen(s, cap);
    if (n == cap || (n > 0 && !sc_token_valid(s, n, cs)))
        abort();
}

static inline void fuzz_check_contract_result(const sc_contract_result *r)
{
    if (r->failed >> SC_CHECK__COUNT != 0 || (unsigned)r->error_class >= SC_ERROR_CLASS__COUNT)
        abort();
    fuzz_check_token(r->error_code, sizeof r->error_code, SC_TOKEN_NAME);
    fuzz_check_token(r->response_id, sizeof r->response_id, SC_TOKEN_NAME);
    fuzz_check_token(r->response_model, sizeof r->response_model, SC_TOKEN_MODEL);
    if (r->n_finish > SC_CONTRACT_FINISH_MAX || r->fields.n > SC_SHAPE_MAX_NAMES)
        abort();
    for (unsigned i = 0; i < r->n_finish; i++)
        fuzz_check_token(r->finish_reasons[i], sizeof r->finish_reasons[i], SC_TOKEN_NAME);
    for (unsigned i = 0; i < r->fields.n; i++) {
        size_t n = strnlen(r->fields.name[i], SC_SHAPE_NAME_LEN);
        if (n == SC_SHAPE_NAME_LEN || strspn(r->fields.name[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                "abcdefghijklmnopqrstuvwxyz"
                                                                "0123456789_.-") != n)
            abort(); /* sanitised on insert */
        if (i > 0 && strcmp(r->fields.name[i - 1], r->fields.name[i]) >= 0)
            abort(); /* sorted and unique */
    }
}

#endif
