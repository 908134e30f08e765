/* alloc_count.c - owns: counting every heap allocation a process makes, for the access-log
 * benchmark's "allocations per line" figure. Built as an LD_PRELOAD shim by bench_accesslog.sh;
 * never linked into the sidecar.
 *
 * malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign and valloc are interposed
 * (glibc's documented "replacing malloc": the preloaded definitions win) and forward to glibc's
 * __libc_* entry points, so no dlsym and no recursion. Each call adds one to a counter in a file
 * (SC_ALLOC_COUNT_FILE, 8 bytes, mapped shared) that the benchmark reads while the process runs:
 * the difference between two readings is the allocations made between them, all threads
 * counted. free is not counted. Without SC_ALLOC_COUNT_FILE the shim only forwards. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);

/* The one mutable global: the mapped counter (see STYLE.md, allocator hooks). */
static _Atomic uint64_t *counter;

__attribute__((constructor)) static void map_counter(void)
{
    const char *path = getenv("SC_ALLOC_COUNT_FILE");
    if (path == NULL)
        return;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (ftruncate(fd, sizeof *counter) == 0) {
        void *p = mmap(NULL, sizeof *counter, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED)
            counter = p;
    }
    close(fd);
}

static void count(void)
{
    if (counter != NULL)
        atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

void *malloc(size_t n)
{
    count();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    count();
    return __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}

void *valloc(size_t n)
{
    count();
    return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    count();
    void *p = __libc_memalign(align, n);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}
