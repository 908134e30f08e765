/* harness.h - owns: the unit-test runner. A test is a void function; CHECK records a failure and
 * carries on, REQUIRE records one and returns from the test. main() calls sc_test_run for each
 * test and returns sc_test_summary(), which prints "N passed, N failed". */
#ifndef SC_TEST_HARNESS_H
#define SC_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>
#include <uv.h>

void sc_test_fail(const char *file, int line, const char *expr);
void sc_test_run(const char *name, void (*fn)(void));
int sc_test_summary(void);
int sc_test_current_failed(void);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            sc_test_fail(__FILE__, __LINE__, #cond);                                               \
    } while (0)
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            sc_test_fail(__FILE__, __LINE__, #cond);                                               \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            char m_[256];                                                                          \
            snprintf(m_, sizeof m_, "%s == %s (%lld != %lld)", #a, #b, a_, b_);                    \
            sc_test_fail(__FILE__, __LINE__, m_);                                                  \
        }                                                                                          \
    } while (0)
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                                     \
            char m_[512];                                                                          \
            snprintf(m_, sizeof m_, "%s == %s (\"%.200s\" != \"%.200s\")", #a, #b,                 \
                     a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                      \
            sc_test_fail(__FILE__, __LINE__, m_);                                                  \
        }                                                                                          \
    } while (0)
#define RUN(fn) sc_test_run(#fn, fn)

/* Every test that makes a loop ends with this: a leaked handle fails the test. */
void sc_test_close_loop(uv_loop_t *loop);

#endif
