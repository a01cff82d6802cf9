#include "ckernels.h"
#include <immintrin.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// Why a pool of its own: a parallel region handed to libdispatch wakes a sleeping worker through a
// futex, and on a virtual machine a halted vCPU takes ~100 µs to come back (measured: a
// two-iteration `concurrentPerform` of 50 µs each took 146 µs). Decoding one GPT-2 token runs ~50
// regions of ~100–300 µs. These workers instead wait for the next region by spinning for a while
// (yielding the core to anything else runnable), and only then sleep on a futex.

enum { MAX_WORKERS = 127, SPIN_NANOSECONDS = 2000000 };

static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;
static int busy;                 // 1 while a caller owns the pool (taken by compare-and-swap)
static int64_t threads_started;  // pool threads 1 ..< threads_started + 1 exist
static ckpt_pool_body job_body;
static void *job_context;
// The futex word: a job's number times 128, plus its participants (the caller and pool threads
// 1 ..< participants), in one word so that a thread that is not taking part never reads a later
// job's fields.
static int generation;
static int sleepers;             // pool threads in, or about to enter, FUTEX_WAIT
static int64_t remaining;        // pool threads of the current job not yet finished

static int64_t now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

// Waits until `generation` differs from `seen` and returns it: spins, then sleeps.
static int next_generation(int seen) {
    int64_t deadline = now_nanoseconds() + SPIN_NANOSECONDS;
    for (int round = 0;; round++) {
        int current = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
        if (current != seen) return current;
        if (round < 256) { _mm_pause(); continue; }
        if (now_nanoseconds() > deadline) break;
        sched_yield();
    }
    for (;;) {
        __atomic_fetch_add(&sleepers, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&generation, __ATOMIC_SEQ_CST) == seen)
            syscall(SYS_futex, &generation, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
        __atomic_fetch_sub(&sleepers, 1, __ATOMIC_SEQ_CST);
        int current = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
        if (current != seen) return current;
    }
}

static void *pool_thread(void *argument) {
    const int64_t index = (int64_t)(intptr_t)argument;
    int seen = 0;
    for (;;) {
        seen = next_generation(seen);
        if (index < (seen & 127)) {
            job_body(job_context, index);
            __atomic_fetch_sub(&remaining, 1, __ATOMIC_RELEASE);
        }
    }
    return NULL;
}

// Starts pool threads until `count` exist; returns how many do.
static int64_t ensure_threads(int64_t count) {
    pthread_mutex_lock(&grow_lock);
    while (threads_started < count) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, pool_thread, (void *)(intptr_t)(threads_started + 1));
        pthread_attr_destroy(&attributes);
        if (failed) break;
        threads_started++;
    }
    int64_t started = threads_started;
    pthread_mutex_unlock(&grow_lock);
    return started;
}

int ckpt_pool_run(int64_t participants, ckpt_pool_body body, void *context) {
    if (participants < 2 || participants > MAX_WORKERS) return -1;
    int expected = 0;
    if (!__atomic_compare_exchange_n(&busy, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return -1;
    if (ensure_threads(participants - 1) < participants - 1) {
        __atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
        return -1;
    }
    job_body = body;
    job_context = context;
    __atomic_store_n(&remaining, participants - 1, __ATOMIC_RELAXED);
    int next = (int)(((unsigned)__atomic_load_n(&generation, __ATOMIC_RELAXED) / 128 + 1) % (1u << 24) * 128 + (unsigned)participants);
    __atomic_store_n(&generation, next, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&sleepers, __ATOMIC_SEQ_CST) > 0) syscall(SYS_futex, &generation, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    body(context, 0);
    for (int round = 0; __atomic_load_n(&remaining, __ATOMIC_ACQUIRE) > 0; round++) {
        if (round < 4096) _mm_pause();
        else sched_yield();
    }
    __atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
    return 0;
}
