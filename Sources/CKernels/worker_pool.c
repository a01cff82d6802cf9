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
static int64_t active;           // participants of the current job still running their own part

// A nested region (`ckpt_pool_share`) that participants done with their own part may join. Its
// word: a number bumped at each publication (bits 32…63), the next joiner's participant number
// (16…31) and the end of those numbers (0…15); joiners claim a number by compare-and-swap on the
// whole word, so a joiner that read the body of an older publication can never claim.
static int share_owner;          // 1 while a nested region is published or being closed
static ckpt_pool_body share_body;
static void *share_context;
static uint64_t share_word;
static int64_t share_finished;   // joiners of the publication that have finished
static _Thread_local int in_region;  // this thread runs a part of the pool's current job

static int64_t now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

// One round of waiting for another thread: a pause for the first 4,096 rounds, then the core
// offered to anything else runnable.
static void wait_round(int round) {
    if (round < 4096) _mm_pause();
    else sched_yield();
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

// Runs one participant's part of the published nested region, if it has one left; whether it did.
static int join_shared(void) {
    uint64_t word = __atomic_load_n(&share_word, __ATOMIC_ACQUIRE);
    for (;;) {
        const uint64_t next = word >> 16 & 0xffff, end = word & 0xffff;
        if (next >= end) return 0;
        ckpt_pool_body body = __atomic_load_n(&share_body, __ATOMIC_RELAXED);
        void *context = __atomic_load_n(&share_context, __ATOMIC_RELAXED);
        if (__atomic_compare_exchange_n(&share_word, &word, word + (1u << 16), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            body(context, (int64_t)next);
            __atomic_fetch_add(&share_finished, 1, __ATOMIC_RELEASE);
            return 1;
        }
    }
}

// A participant's part of the job, then help with the others' nested regions until every part is done.
static void take_part(ckpt_pool_body body, void *context, int64_t participant) {
    in_region = 1;
    body(context, participant);
    __atomic_fetch_sub(&active, 1, __ATOMIC_ACQ_REL);
    for (int idle = 0; __atomic_load_n(&active, __ATOMIC_ACQUIRE) > 0;) {
        idle = join_shared() ? 0 : idle + 1;
        wait_round(idle);
    }
    in_region = 0;
}

static void *pool_thread(void *argument) {
    const int64_t index = (int64_t)(intptr_t)argument;
    int seen = 0;
    for (;;) {
        seen = next_generation(seen);
        if (index < (seen & 127)) {
            take_part(job_body, job_context, index);
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
    __atomic_store_n(&active, participants, __ATOMIC_RELAXED);
    int next = (int)(((unsigned)__atomic_load_n(&generation, __ATOMIC_RELAXED) / 128 + 1) % (1u << 24) * 128 + (unsigned)participants);
    __atomic_store_n(&generation, next, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&sleepers, __ATOMIC_SEQ_CST) > 0) syscall(SYS_futex, &generation, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    take_part(body, context, 0);
    for (int round = 0; __atomic_load_n(&remaining, __ATOMIC_ACQUIRE) > 0; round++) wait_round(round);
    __atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
    return 0;
}

int ckpt_pool_share(int64_t participants, ckpt_pool_body body, void *context) {
    if (!in_region) return ckpt_pool_run(participants, body, context);
    int expected = 0;
    if (participants < 2 || !__atomic_compare_exchange_n(&share_owner, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        body(context, 0);
        return 0;
    }
    const int64_t end = participants < 0xffff ? participants : 0xffff;
    __atomic_store_n(&share_body, body, __ATOMIC_RELAXED);
    __atomic_store_n(&share_context, context, __ATOMIC_RELAXED);
    __atomic_store_n(&share_finished, 0, __ATOMIC_RELAXED);
    const uint64_t number = (__atomic_load_n(&share_word, __ATOMIC_RELAXED) >> 32) + 1;
    __atomic_store_n(&share_word, number << 32 | 1u << 16 | (uint64_t)end, __ATOMIC_RELEASE);
    body(context, 0);
    // Closed: the next number is the end, so no one joins after this; wait for those who did.
    const uint64_t word = __atomic_exchange_n(&share_word, number << 32 | (uint64_t)end << 16 | (uint64_t)end, __ATOMIC_ACQ_REL);
    const int64_t joined = (int64_t)(word >> 16 & 0xffff) - 1;
    for (int round = 0; __atomic_load_n(&share_finished, __ATOMIC_ACQUIRE) < joined; round++) wait_round(round);
    __atomic_store_n(&share_owner, 0, __ATOMIC_RELEASE);
    return 0;
}
