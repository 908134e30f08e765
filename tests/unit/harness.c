/* harness.c - owns: counting test outcomes and the final summary line. */
#include "harness.h"

static int passed, failed, current_failed;

void sc_test_fail(const char *file, int line, const char *expr)
{
    current_failed = 1;
    fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, expr);
}

int sc_test_current_failed(void)
{
    return current_failed;
}

void sc_test_run(const char *name, void (*fn)(void))
{
    current_failed = 0;
    fn();
    if (current_failed)
        failed++;
    else
        passed++;
    fprintf(stderr, "%s %s\n", current_failed ? "FAIL" : "ok  ", name);
}

int sc_test_summary(void)
{
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void sc_test_close_loop(uv_loop_t *loop)
{
    int rc = uv_loop_close(loop);
    if (rc != 0) {
        sc_test_fail(__FILE__, __LINE__, "uv_loop_close(loop) == 0 (a handle was left open)");
        uv_walk(loop, close_walk, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
        uv_loop_close(loop);
    }
}
