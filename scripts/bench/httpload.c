/* httpload: a tiny closed-loop HTTP/1.1 keep-alive load generator for the wharf benchmark.
 *
 * Why not wrk: wrk 4.1 never tells its HTTP parser that a response answers a HEAD, so it
 * waits for Content-Length body bytes that never come and counts 0 requests. This tool
 * knows HEAD responses have no body. run.py compiles it with `cc -O2 -pthread`.
 *
 *   httpload METHOD HOST PORT PATH CONNECTIONS THREADS SECONDS [HEADER ...]
 *
 * Each connection keeps exactly one request in flight (like wrk). Prints key=value lines:
 * requests, seconds, rps, p50_ms, p90_ms, p99_ms, max_ms, non2xx, errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 16384
/* latency histogram: 1 us buckets below 10 ms, then 100 us buckets up to 10 s */
#define FINE 10000
#define NBUCKETS (FINE + 100000)

typedef struct {
    int fd;
    uint64_t start;
    size_t have;
    long body_left; /* -1: still reading the head */
    char buf[BUF];
} conn_t;

typedef struct {
    pthread_t tid;
    int nconns;
    uint64_t requests, non2xx, errors;
    uint64_t *hist;
    uint64_t max_us;
} worker_t;

static const char *g_method, *g_host, *g_path;
static int g_port, g_head;
static char g_req[8192];
static size_t g_reqlen;
static uint64_t g_end_ns;
static struct sockaddr_in g_addr;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int bucket(uint64_t us) {
    if (us < FINE) return (int)us;
    uint64_t b = FINE + (us - FINE) / 100;
    return b >= NBUCKETS ? NBUCKETS - 1 : (int)b;
}

static uint64_t bucket_us(int b) { return b < FINE ? (uint64_t)b : FINE + (uint64_t)(b - FINE) * 100; }

static int open_conn(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr) < 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static int send_req(conn_t *c) {
    c->start = now_ns();
    c->have = 0;
    c->body_left = -1;
    size_t off = 0;
    while (off < g_reqlen) {
        ssize_t n = send(c->fd, g_req + off, g_reqlen - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

/* Returns 1 when a whole response was consumed, 0 when more bytes are needed, -1 on error.
 * *status is set on completion. */
static int parse(conn_t *c, int *status) {
    if (c->body_left < 0) {
        char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
        if (!end) return c->have >= BUF ? -1 : 0;
        size_t headlen = (size_t)(end - c->buf) + 4;
        if (c->have < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0) return -1;
        *status = atoi(c->buf + 9);
        long cl = 0;
        c->buf[headlen - 1] = 0;
        for (char *p = c->buf; (p = strchr(p, '\n')) != NULL;) {
            p++;
            if (strncasecmp(p, "content-length:", 15) == 0) cl = atol(p + 15);
            if (strncasecmp(p, "transfer-encoding:", 18) == 0) return -1; /* not supported */
        }
        if (g_head || *status == 204 || *status == 304) cl = 0;
        size_t extra = c->have - headlen;
        c->body_left = cl - (long)extra;
        c->have = 0;
        /* the status is remembered in buf[0..3] for the body phase */
        memcpy(c->buf, status, sizeof *status);
        if (c->body_left < 0) return -1; /* more than one response: not expected */
        return c->body_left == 0 ? 1 : 0;
    }
    memcpy(status, c->buf, sizeof *status);
    long got = (long)c->have;
    c->have = 0;
    c->body_left -= got;
    if (c->body_left < 0) return -1;
    return c->body_left == 0 ? 1 : 0;
}

static void *run(void *arg) {
    worker_t *w = arg;
    int ep = epoll_create1(0);
    conn_t *conns = calloc((size_t)w->nconns, sizeof(conn_t));
    for (int i = 0; i < w->nconns; i++) {
        conns[i].fd = open_conn();
        if (conns[i].fd < 0 || send_req(&conns[i]) < 0) {
            w->errors++;
            conns[i].fd = -1;
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    struct epoll_event evs[256];
    for (;;) {
        uint64_t t = now_ns();
        if (t >= g_end_ns) break;
        int timeout = (int)((g_end_ns - t) / 1000000) + 1;
        int n = epoll_wait(ep, evs, 256, timeout > 100 ? 100 : timeout);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            char *dst = c->body_left < 0 ? c->buf + c->have : c->buf + sizeof(int);
            size_t room = c->body_left < 0 ? BUF - c->have : BUF - sizeof(int);
            ssize_t r = recv(c->fd, dst, room, 0);
            int status = 0, done;
            if (r <= 0) {
                done = -1;
            } else if (c->body_left < 0) {
                c->have += (size_t)r;
                done = parse(c, &status);
            } else {
                c->have = (size_t)r;
                done = parse(c, &status);
            }
            if (done == 0) continue;
            if (done < 0) {
                w->errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = open_conn();
                if (c->fd < 0) continue;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            } else {
                uint64_t us = (now_ns() - c->start) / 1000;
                w->requests++;
                w->hist[bucket(us)]++;
                if (us > w->max_us) w->max_us = us;
                if (status < 200 || status > 399) w->non2xx++;
            }
            if (now_ns() >= g_end_ns) break;
            if (send_req(c) < 0) w->errors++;
        }
    }
    for (int i = 0; i < w->nconns; i++)
        if (conns[i].fd >= 0) close(conns[i].fd);
    free(conns);
    close(ep);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: %s METHOD HOST PORT PATH CONNECTIONS THREADS SECONDS [HEADER ...]\n",
                argv[0]);
        return 2;
    }
    g_method = argv[1];
    g_host = argv[2];
    g_port = atoi(argv[3]);
    g_path = argv[4];
    int nconns = atoi(argv[5]), nthreads = atoi(argv[6]);
    double secs = atof(argv[7]);
    g_head = strcasecmp(g_method, "HEAD") == 0;
    int len = snprintf(g_req, sizeof g_req, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n", g_method, g_path,
                       g_host, g_port);
    for (int i = 8; i < argc; i++)
        len += snprintf(g_req + len, sizeof g_req - (size_t)len, "%s\r\n", argv[i]);
    len += snprintf(g_req + len, sizeof g_req - (size_t)len, "\r\n");
    g_reqlen = (size_t)len;
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((uint16_t)g_port);
    if (inet_pton(AF_INET, g_host, &g_addr.sin_addr) != 1) {
        fprintf(stderr, "HOST must be an IPv4 address\n");
        return 2;
    }
    if (nthreads < 1) nthreads = 1;
    if (nthreads > nconns) nthreads = nconns;
    worker_t *ws = calloc((size_t)nthreads, sizeof(worker_t));
    uint64_t t0 = now_ns();
    g_end_ns = t0 + (uint64_t)(secs * 1e9);
    for (int i = 0; i < nthreads; i++) {
        ws[i].nconns = nconns / nthreads + (i < nconns % nthreads);
        ws[i].hist = calloc(NBUCKETS, sizeof(uint64_t));
        pthread_create(&ws[i].tid, NULL, run, &ws[i]);
    }
    uint64_t req = 0, non2xx = 0, errors = 0, max_us = 0;
    uint64_t *hist = calloc(NBUCKETS, sizeof(uint64_t));
    for (int i = 0; i < nthreads; i++) {
        pthread_join(ws[i].tid, NULL);
        req += ws[i].requests;
        non2xx += ws[i].non2xx;
        errors += ws[i].errors;
        if (ws[i].max_us > max_us) max_us = ws[i].max_us;
        for (int b = 0; b < NBUCKETS; b++) hist[b] += ws[i].hist[b];
    }
    double elapsed = (double)(now_ns() - t0) / 1e9;
    double pct[3] = {0.50, 0.90, 0.99}, val[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        uint64_t want = (uint64_t)(pct[k] * (double)req + 0.5), acc = 0;
        for (int b = 0; b < NBUCKETS; b++) {
            acc += hist[b];
            if (acc >= want && want > 0) {
                val[k] = (double)bucket_us(b) / 1000.0;
                break;
            }
        }
    }
    printf("requests=%llu\nseconds=%.3f\nrps=%.1f\np50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\n"
           "max_ms=%.3f\nnon2xx=%llu\nerrors=%llu\n",
           (unsigned long long)req, elapsed, (double)req / elapsed, val[0], val[1], val[2],
           (double)max_us / 1000.0, (unsigned long long)non2xx, (unsigned long long)errors);
    return 0;
}
