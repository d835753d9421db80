/* core/parker.c: a futex parker for one thread. */
#include "core.h"

enum { EMPTY = 0, PARKED = 1, NOTIFIED = 2 };

/* A futex wake across this machine's two vCPUs costs about 10 us: spin a
 * little first, in case the unpark is already on its way. */
#define PARK_SPINS 64

void ak__parker_init(struct ak__parker *p)
{
	ak__init(&p->state, EMPTY);
}

static int consume_notified(struct ak__parker *p)
{
	uint32_t expected = NOTIFIED;
	/* acquire: pairs with the release exchange in ak__unpark(). */
	return ak__cas(&p->state, &expected, EMPTY, AK__ACQUIRE, AK__RELAXED);
}

int ak__park(struct ak__parker *p, int64_t deadline)
{
	for (int i = 0; i < PARK_SPINS; i++) {
		if (consume_notified(p))
			return 0;
		ak__cpu_relax();
	}
	uint32_t expected = EMPTY;
	if (!ak__cas(&p->state, &expected, PARKED, AK__ACQUIRE, AK__ACQUIRE)) {
		/* It was NOTIFIED (only the parking thread stores PARKED). */
		ak__store(&p->state, EMPTY, AK__RELAXED);
		return 0;
	}
	for (;;) {
		int rc = ak__futex_wait(&p->state, PARKED, deadline);
		if (consume_notified(p))
			return 0;
		if (rc == AK_ETIMEDOUT) {
			/* acquire: an unpark racing with the timeout still counts. */
			if (ak__xchg(&p->state, EMPTY, AK__ACQUIRE) == NOTIFIED)
				return 0;
			return AK_ETIMEDOUT;
		}
	}
}

void ak__unpark(struct ak__parker *p)
{
	/* release: pairs with the acquire in consume_notified(). */
	if (ak__xchg(&p->state, NOTIFIED, AK__RELEASE) == PARKED)
		ak__futex_wake(&p->state, 1);
}
