/* The fetch benchmark's C side (tests/src/bin/bench/fetch.rs): a caller that reads keys
 * through a keyring_reader_with_status service as mysqld's read_secret does, and the bare
 * baseline it is compared with, a keyring that is nothing but a read-write lock, an
 * open-addressing hash table and memcpy, behind the same four methods.
 *
 * Both sides are plain C so the comparison holds no Rust caller overhead (CString, Vec):
 * the component and the baseline are timed by the same loop over the same service struct. */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int status_t; /* mysql_service_status_t: 0 = success */
typedef void *handle_t;

/* s_mysql_keyring_reader_with_status, member for member (keyring_reader_with_status.h). */
struct reader_service {
    status_t (*init)(const char *data_id, const char *auth_id, handle_t *out);
    status_t (*deinit)(handle_t object);
    status_t (*fetch_length)(handle_t object, size_t *data_size, size_t *type_size);
    status_t (*fetch)(handle_t object, unsigned char *data, size_t data_len, size_t *data_size,
                      char *type, size_t type_len, size_t *type_size);
};

/* ---- the baseline keyring ---- */

struct entry {
    char *data_id; /* NULL: free slot */
    char *auth_id;
    unsigned char *data;
    size_t data_len;
    char *type;
    size_t type_len;
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct entry *table;
static size_t capacity; /* a power of two, at least twice the keys */

static uint64_t hash(const char *data_id, const char *auth_id) {
    uint64_t h = 14695981039346656037ull; /* FNV-1a over data_id, NUL, auth_id */
    for (const char *p = data_id; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h *= 1099511628211ull;
    for (const char *p = auth_id; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

static struct entry *slot(const char *data_id, const char *auth_id) {
    for (size_t i = hash(data_id, auth_id) & (capacity - 1);; i = (i + 1) & (capacity - 1)) {
        struct entry *e = &table[i];
        if (!e->data_id || (!strcmp(e->data_id, data_id) && !strcmp(e->auth_id, auth_id)))
            return e;
    }
}

static char *copy(const void *bytes, size_t len) {
    char *p = malloc(len + 1);
    if (!p) abort();
    memcpy(p, bytes, len);
    p[len] = 0;
    return p;
}

/* Sizes the table for `keys` keys; drops any earlier contents. */
void baseline_reset(size_t keys) {
    pthread_rwlock_wrlock(&lock);
    for (size_t i = 0; i < capacity; i++) {
        free(table[i].data_id), free(table[i].auth_id), free(table[i].data), free(table[i].type);
    }
    free(table);
    for (capacity = 16; capacity < 2 * keys; capacity *= 2) {
    }
    table = calloc(capacity, sizeof *table);
    if (!table) abort();
    pthread_rwlock_unlock(&lock);
}

void baseline_insert(const char *data_id, const char *auth_id, const unsigned char *data,
                     size_t data_len, const char *type) {
    pthread_rwlock_wrlock(&lock);
    struct entry *e = slot(data_id, auth_id);
    if (!e->data_id) {
        e->data_id = copy(data_id, strlen(data_id));
        e->auth_id = copy(auth_id, strlen(auth_id));
        e->data = (unsigned char *)copy(data, data_len);
        e->data_len = data_len;
        e->type_len = strlen(type);
        e->type = copy(type, e->type_len);
    }
    pthread_rwlock_unlock(&lock);
}

/* The reader object is the entry; the read lock is held from init to deinit, so a
 * concurrent writer can never free what a reader copies from. */
static status_t b_init(const char *data_id, const char *auth_id, handle_t *out) {
    *out = NULL;
    if (!data_id) return 0;
    pthread_rwlock_rdlock(&lock);
    struct entry *e = slot(data_id, auth_id ? auth_id : "");
    if (!e->data_id) {
        pthread_rwlock_unlock(&lock);
        return 0;
    }
    *out = e;
    return 0;
}

static status_t b_deinit(handle_t object) {
    if (object) pthread_rwlock_unlock(&lock);
    return 0;
}

static status_t b_fetch_length(handle_t object, size_t *data_size, size_t *type_size) {
    const struct entry *e = object;
    if (!e || !data_size || !type_size) return 1;
    *data_size = e->data_len;
    *type_size = e->type_len;
    return 0;
}

static status_t b_fetch(handle_t object, unsigned char *data, size_t data_len, size_t *data_size,
                        char *type, size_t type_len, size_t *type_size) {
    const struct entry *e = object;
    if (!e || !data || !type || !data_size || !type_size || data_len < e->data_len ||
        type_len < e->type_len)
        return 1;
    memcpy(data, e->data, e->data_len);
    memcpy(type, e->type, e->type_len);
    *data_size = e->data_len;
    *type_size = e->type_len;
    return 0;
}

static const struct reader_service baseline = {b_init, b_deinit, b_fetch_length, b_fetch};

const struct reader_service *baseline_reader(void) { return &baseline; }

/* ---- the caller ---- */

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One read as mysqld's read_secret makes it: init, fetch_length, buffers of the reported
 * lengths (the caller's, here on the stack), fetch, deinit. 1 if the key was read. */
static int read_one(const struct reader_service *r, const char *data_id) {
    unsigned char data[16384];
    char type[64];
    handle_t object = NULL;
    size_t data_len = 0, type_len = 0, got_data = 0, got_type = 0;
    if (r->init(data_id, NULL, &object) || !object) return 0;
    int ok = !r->fetch_length(object, &data_len, &type_len) && data_len <= sizeof data &&
             type_len <= sizeof type &&
             !r->fetch(object, data, data_len, &got_data, type, type_len, &got_type) &&
             got_data == data_len;
    r->deinit(object);
    return ok;
}

/* Times `samples` reads, each alone, into out_ns, after samples/10 untimed ones; key i is
 * ids[(i * 7919 + offset) % n_ids]. Returns how many reads failed (0 expected). */
size_t time_reads(const struct reader_service *r, const char *const *ids, size_t n_ids,
                  size_t samples, size_t offset, uint64_t *out_ns) {
    size_t failed = 0;
    for (size_t i = 0; i < samples / 10; i++) failed += !read_one(r, ids[(i * 7 + offset) % n_ids]);
    for (size_t i = 0; i < samples; i++) {
        const char *id = ids[(i * 7919 + offset) % n_ids];
        uint64_t started = now_ns();
        int ok = read_one(r, id);
        out_ns[i] = now_ns() - started;
        failed += !ok;
    }
    return failed;
}
