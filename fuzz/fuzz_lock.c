/*
 * fuzz_lock.c: Mutex, Semaphore and Notify against their models.
 *
 * Each task owns one operation per primitive and always polls it itself.
 * The models: the fair semaphore of fuzz_main.c (tokio's batch semaphore:
 * FIFO, head-of-line, permits never available while someone waits) for
 * the Mutex and the Semaphore; for Notify, tokio's Notify: one stored
 * permit, notify_one to the oldest waiter and notify_last to the newest,
 * notify_waiters to every waiter registered or bound before it, and a
 * notification not yet observed passed on when its operation is cancelled.
 */
#include <string.h>
#include "fuzz.h"

enum { L_NONE, L_PENDING, L_HELD };

/* ---- Mutex (FIFO) -------------------------------------------------------- */

static struct ak_mutex *mx;
static struct ak_mutex_lock_op mx_op[NTASK];
static struct { int st; struct mwaiter w; } mx_m[NTASK];
static struct msem mx_s;

static void mutex_setup(unsigned arg)
{
	(void)arg;
	memset(mx_op, 0, sizeof(mx_op));
	memset(mx_m, 0, sizeof(mx_m));
	memset(&mx_s, 0, sizeof(mx_s));
	mx_s.avail = 1;
	if (ak_mutex_new(&mx, 0) != 0)
		fz_fail("ak_mutex_new failed");
}

static void mutex_apply(unsigned op, unsigned arg)
{
	int t = (int)(arg % NTASK), rc;
	switch (op % 5) {
	case 0:
		fz_opname = "mutex lock (init, first poll)";
		if (mx_m[t].st != L_NONE)
			return;
		FZ_EQ("ak_mutex_lock_init", ak_mutex_lock_init(&mx_op[t], mx), 0);
		rc = fz_poll(t, &mx_op[t].future);
		FZ_EQ("mutex lock first poll", rc, msem_acquire(&mx_s, &mx_m[t].w, 1, t));
		mx_m[t].st = rc == 0 ? L_HELD : L_PENDING;
		return;
	case 1:
		fz_opname = "mutex lock poll";
		if (mx_m[t].st != L_PENDING)
			return;
		rc = fz_poll(t, &mx_op[t].future);
		if (mx_m[t].w.state == MW_GRANTED) {
			FZ_EQ("mutex lock poll (granted)", rc, 0);
			mx_m[t].st = L_HELD;
		} else {
			FZ_EQ("mutex lock poll (queued)", rc, AK_PENDING);
			fz_parked(&mx_m[t].w.w, t);
		}
		return;
	case 2:
		fz_opname = "mutex lock cancel";
		if (mx_m[t].st != L_PENDING)
			return;
		ak_future_cancel(&mx_op[t].future);
		msem_cancel(&mx_s, &mx_m[t].w, "mutex: cancel passes the lock on");
		mx_m[t].st = L_NONE;
		return;
	case 3:
		fz_opname = "mutex try_lock";
		if (mx_m[t].st != L_NONE)
			return;
		rc = ak_mutex_try_lock(&mx_op[t], mx, NULL);
		FZ_EQ("ak_mutex_try_lock", rc, msem_try(&mx_s, 1));
		if (rc == 0)
			mx_m[t].st = L_HELD;
		return;
	default:
		fz_opname = "mutex unlock";
		rc = ak_mutex_unlock(&mx_op[t]);
		if (mx_m[t].st != L_HELD) {
			FZ_EQ("ak_mutex_unlock of a non-guard", rc, AK_EINVAL);
			return;
		}
		FZ_EQ("ak_mutex_unlock", rc, 0);
		mx_m[t].st = L_NONE;
		msem_release(&mx_s, 1, "mutex: unlock hands the lock to the head waiter");
		return;
	}
}

static void mutex_check(void)
{
	FZ_EQ("ak_mutex_is_locked", ak_mutex_is_locked(mx), mx_s.avail == 0);
}

static void mutex_teardown(void)
{
	for (int t = 0; t < NTASK; t++)
		if (mx_m[t].st == L_PENDING) {
			ak_future_cancel(&mx_op[t].future);
			msem_cancel(&mx_s, &mx_m[t].w, "mutex teardown");
			mx_m[t].st = L_NONE;
		}
	for (int t = 0; t < NTASK; t++)
		if (mx_m[t].st == L_HELD) {
			FZ_EQ("ak_mutex_unlock (teardown)", ak_mutex_unlock(&mx_op[t]), 0);
			mx_m[t].st = L_NONE;
		}
	FZ_EQ("ak_mutex_free", ak_mutex_free(mx), 0);
	mx = NULL;
}

const struct fprim fz_mutex = {
	"mutex", mutex_setup, mutex_apply, mutex_check, mutex_teardown
};

/* ---- Semaphore ----------------------------------------------------------- */

static struct ak_semaphore *sem;
static struct ak_semaphore_acquire_op sem_op[NTASK];
static struct { int st; uint64_t held; struct mwaiter w; } sem_m[NTASK];
static struct msem sem_s;

static void sem_setup(unsigned arg)
{
	memset(sem_op, 0, sizeof(sem_op));
	memset(sem_m, 0, sizeof(sem_m));
	memset(&sem_s, 0, sizeof(sem_s));
	sem_s.avail = arg % 4;
	if (ak_semaphore_new(&sem, sem_s.avail) != 0)
		fz_fail("ak_semaphore_new failed");
}

static void sem_apply(unsigned op, unsigned arg)
{
	int t = (int)(arg % NTASK), rc, want;
	uint64_t n = (arg / NTASK) % 4;
	switch (op % 9) {
	case 0:
		fz_opname = "semaphore acquire (init, first poll)";
		if (sem_m[t].st != L_NONE)
			return;
		FZ_EQ("ak_semaphore_acquire_init",
		      ak_semaphore_acquire_init(&sem_op[t], sem, n), 0);
		rc = fz_poll(t, &sem_op[t].future);
		/* An acquire of 0 completes at once while open (tokio). */
		want = n == 0 ? (sem_s.closed ? AK_EPIPE : 0)
		              : msem_acquire(&sem_s, &sem_m[t].w, n, t);
		FZ_EQ("semaphore acquire first poll", rc, want);
		sem_m[t].w.need = n;
		sem_m[t].st = rc == 0 ? L_HELD : rc == AK_PENDING ? L_PENDING : L_NONE;
		sem_m[t].held = rc == 0 ? n : 0;
		return;
	case 1:
		fz_opname = "semaphore acquire poll";
		if (sem_m[t].st != L_PENDING)
			return;
		rc = fz_poll(t, &sem_op[t].future);
		switch (sem_m[t].w.state) {
		case MW_GRANTED:
			FZ_EQ("semaphore acquire poll (granted)", rc, 0);
			sem_m[t].st = L_HELD;
			sem_m[t].held = sem_m[t].w.need;
			break;
		case MW_CLOSED:
			FZ_EQ("semaphore acquire poll (closed while queued)", rc,
			      msem_closed_poll(&sem_s, &sem_m[t].w));
			sem_m[t].st = L_NONE;
			break;
		default:
			FZ_EQ("semaphore acquire poll (queued)", rc, AK_PENDING);
			fz_parked(&sem_m[t].w.w, t);
		}
		return;
	case 2:
		fz_opname = "semaphore acquire cancel";
		if (sem_m[t].st != L_PENDING)
			return;
		ak_future_cancel(&sem_op[t].future);
		msem_cancel(&sem_s, &sem_m[t].w, "semaphore: cancel passes permits on");
		sem_m[t].st = L_NONE;
		return;
	case 3:
		fz_opname = "semaphore try_acquire";
		if (sem_m[t].st != L_NONE)
			return;
		rc = ak_semaphore_try_acquire(&sem_op[t], sem, n);
		want = n == 0 ? (sem_s.closed ? AK_EPIPE : 0) : msem_try(&sem_s, n);
		FZ_EQ("ak_semaphore_try_acquire", rc, want);
		if (rc == 0) {
			sem_m[t].st = L_HELD;
			sem_m[t].held = n;
		}
		return;
	case 4:
		fz_opname = "semaphore release";
		rc = ak_semaphore_release(&sem_op[t]);
		/* A completed acquire of 0 is a guard of 0 permits: released as any. */
		if (sem_m[t].st != L_HELD) {
			FZ_EQ("ak_semaphore_release of an op holding nothing", rc, AK_EINVAL);
			return;
		}
		FZ_EQ("ak_semaphore_release", rc, 0);
		msem_release(&sem_s, sem_m[t].held, "semaphore: release grants the head waiter");
		sem_m[t].st = L_NONE;
		sem_m[t].held = 0;
		return;
	case 5:
		fz_opname = "semaphore add_permits";
		FZ_EQ("ak_semaphore_add_permits", ak_semaphore_add_permits(sem, n), 0);
		msem_release(&sem_s, n, "semaphore: add_permits grants the head waiter");
		return;
	case 6: {
		fz_opname = "semaphore forget";
		uint64_t got = 99, w = n < sem_s.avail ? n : sem_s.avail;
		FZ_EQ("ak_semaphore_forget", ak_semaphore_forget(sem, n, &got), 0);
		FZ_EQ("ak_semaphore_forget: forgotten", got, w);
		sem_s.avail -= w;
		return;
	}
	case 7:
		fz_opname = "semaphore close";
		FZ_EQ("ak_semaphore_close", ak_semaphore_close(sem), 0);
		msem_close(&sem_s, "semaphore: close wakes the waiters");
		return;
	default:
		fz_opname = "semaphore permits";
		FZ_EQ("ak_semaphore_permits", ak_semaphore_permits(&sem_op[t]),
		      sem_m[t].st == L_HELD ? sem_m[t].held : 0);
		return;
	}
}

static void sem_check(void)
{
	FZ_EQ("ak_semaphore_available_permits", ak_semaphore_available_permits(sem),
	      sem_s.avail);
	FZ_EQ("ak_semaphore_is_closed", ak_semaphore_is_closed(sem), sem_s.closed);
}

static void sem_teardown(void)
{
	for (int t = 0; t < NTASK; t++)
		if (sem_m[t].st == L_PENDING) {
			ak_future_cancel(&sem_op[t].future);
			msem_cancel(&sem_s, &sem_m[t].w, "semaphore teardown");
			sem_m[t].st = L_NONE;
		}
	for (int t = 0; t < NTASK; t++)
		if (sem_m[t].st == L_HELD) {
			FZ_EQ("ak_semaphore_release (teardown)",
			      ak_semaphore_release(&sem_op[t]), 0);
			msem_release(&sem_s, sem_m[t].held, "semaphore teardown");
			sem_m[t].st = L_NONE;
		}
	FZ_EQ("ak_semaphore_free", ak_semaphore_free(sem), 0);
	sem = NULL;
}

const struct fprim fz_semaphore = {
	"semaphore", sem_setup, sem_apply, sem_check, sem_teardown
};

/* ---- Notify -------------------------------------------------------------- */

/* N_ONE_*: handed a notify_one / notify_last (passed on if cancelled);
 * N_ALL: completed by notify_waiters (not passed on). */
enum { N_NONE, N_BOUND, N_WAITING, N_ONE_FIFO, N_ONE_LIFO, N_ALL };

static struct ak_notify *nt;
static struct ak_notified_op nt_op[NTASK];
static struct { int st; uint64_t gen; struct fwait w; } nt_m[NTASK];
static int nt_q[NTASK], nt_nq;   /* waiting tasks, oldest first */
static int nt_permit;
static uint64_t nt_gen;

static void notify_setup(unsigned arg)
{
	(void)arg;
	memset(nt_op, 0, sizeof(nt_op));
	memset(nt_m, 0, sizeof(nt_m));
	nt_nq = 0;
	nt_permit = 0;
	nt_gen = 0;
	if (ak_notify_new(&nt) != 0)
		fz_fail("ak_notify_new failed");
}

static void nq_remove(int i)
{
	memmove(nt_q + i, nt_q + i + 1, (size_t)(nt_nq - i - 1) * sizeof(nt_q[0]));
	nt_nq--;
}

/* notify_one (lifo = 0) or notify_last (lifo = 1), or a notification
 * passed on by a cancel. */
static void model_notify(int lifo, const char *what)
{
	if (nt_nq == 0) {
		nt_permit = 1;
		return;
	}
	int i = lifo ? nt_nq - 1 : 0, t = nt_q[i];
	nq_remove(i);
	nt_m[t].st = lifo ? N_ONE_LIFO : N_ONE_FIFO;
	fz_expect_woken(&nt_m[t].w, what);
}

/* Registration without a poll (enable) or at a first poll: 1 notified. */
static int model_register(int t)
{
	if (nt_m[t].gen != nt_gen) {
		nt_m[t].st = N_ALL;
		return 1;
	}
	if (nt_permit) {
		nt_permit = 0;
		nt_m[t].st = N_ONE_FIFO;
		return 1;
	}
	nt_m[t].st = N_WAITING;
	nt_q[nt_nq++] = t;
	return 0;
}

static void notify_apply(unsigned op, unsigned arg)
{
	int t = (int)(arg % NTASK), rc;
	switch (op % 7) {
	case 0:
		fz_opname = "notified init";
		if (nt_m[t].st != N_NONE)
			return;
		FZ_EQ("ak_notified_init", ak_notified_init(&nt_op[t], nt), 0);
		nt_m[t].st = N_BOUND;
		nt_m[t].gen = nt_gen;
		nt_m[t].w.task = -1;
		return;
	case 1:
		fz_opname = "notified poll";
		if (nt_m[t].st == N_NONE)
			return;
		rc = fz_poll(t, &nt_op[t].future);
		if (nt_m[t].st == N_BOUND && model_register(t) == 0) {
			/* registered: now it waits */
		}
		if (nt_m[t].st == N_WAITING) {
			FZ_EQ("notified poll (waiting)", rc, AK_PENDING);
			fz_parked(&nt_m[t].w, t);
		} else {
			FZ_EQ("notified poll (notified)", rc, 0);
			nt_m[t].st = N_NONE;
		}
		return;
	case 2:
		fz_opname = "notified cancel";
		if (nt_m[t].st == N_NONE)
			return;
		ak_future_cancel(&nt_op[t].future);
		if (nt_m[t].st == N_WAITING) {
			for (int i = 0; i < nt_nq; i++)
				if (nt_q[i] == t) {
					nq_remove(i);
					break;
				}
		} else if (nt_m[t].st == N_ONE_FIFO || nt_m[t].st == N_ONE_LIFO) {
			model_notify(nt_m[t].st == N_ONE_LIFO,
			             "notify: a cancelled notification passes on");
		}
		nt_m[t].st = N_NONE;
		return;
	case 3:
		fz_opname = "notified enable";
		if (nt_m[t].st == N_NONE)
			return;
		rc = ak_notified_enable(&nt_op[t]);
		if (nt_m[t].st == N_BOUND)
			FZ_EQ("ak_notified_enable (bound)", rc, model_register(t));
		else
			FZ_EQ("ak_notified_enable", rc, nt_m[t].st != N_WAITING);
		return;
	case 4:
		fz_opname = "notify_one";
		FZ_EQ("ak_notify_one", ak_notify_one(nt), 0);
		model_notify(0, "notify_one wakes the oldest waiter");
		return;
	case 5:
		fz_opname = "notify_last";
		FZ_EQ("ak_notify_last", ak_notify_last(nt), 0);
		model_notify(1, "notify_last wakes the newest waiter");
		return;
	default:
		fz_opname = "notify_waiters";
		FZ_EQ("ak_notify_waiters", ak_notify_waiters(nt), 0);
		nt_gen++;
		for (int i = 0; i < nt_nq; i++) {
			nt_m[nt_q[i]].st = N_ALL;
			fz_expect_woken(&nt_m[nt_q[i]].w, "notify_waiters wakes every waiter");
		}
		nt_nq = 0;
		return;
	}
}

static void notify_check(void)
{
}

static void notify_teardown(void)
{
	for (int t = 0; t < NTASK; t++)
		if (nt_m[t].st != N_NONE) {
			ak_future_cancel(&nt_op[t].future);
			nt_m[t].st = N_NONE;
		}
	FZ_EQ("ak_notify_free", ak_notify_free(nt), 0);
	nt = NULL;
}

const struct fprim fz_notify = {
	"notify", notify_setup, notify_apply, notify_check, notify_teardown
};
