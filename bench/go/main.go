// peer-go: the Go peers of awaitkit's benchmark workloads (issue 4).
//
//	peer-go <workload> [--size N] [--workers N]
//
// Runs the workload once untimed as a warm-up (a twentieth of the size;
// none for idle_channels), then one timed run, and prints one line:
//
//	RESULT workload=<name> impl=go ops=<n> ns_per_op=<f> allocs_per_op=<f> [key=value ...]
//
// Only the standard library is used.  Where Go has no such primitive
// (unbounded channel, broadcast, watch, oneshot, notify) the closest
// idiomatic equivalent stands in; bench/README.md lists each one.
// Allocations are runtime.MemStats.Mallocs over the timed section.
// Exit status: 0 on success, 2 on a usage error, 3 for a workload this
// program does not implement, 1 when a run loses or corrupts messages.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	ops     uint64
	elapsed time.Duration
	mallocs uint64
	extra   []string
}

type stopwatch struct {
	t0 time.Time
	m0 uint64
}

// start reads the allocation count first (ReadMemStats stops the world),
// then the clock, so that neither read is inside the timed section.
func start() stopwatch {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return stopwatch{t0: time.Now(), m0: ms.Mallocs}
}

func (s stopwatch) stop(ops uint64) result {
	el := time.Since(s.t0)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return result{ops: ops, elapsed: el, mallocs: ms.Mallocs - s.m0}
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "peer-go: "+format+"\n", a...)
	os.Exit(1)
}

// sum of 0 .. n-1
func tri(n int) int64 { return int64(n) * int64(n-1) / 2 }

// roundDown makes n a positive multiple of k.
func roundDown(n, k int) int {
	n -= n % k
	if n < k {
		n = k
	}
	return n
}

// ---- channels ---------------------------------------------------------------

// spsc_bounded: 1 producer, 1 consumer, a channel of 1024, 2 Ps.
func spscBounded(n int) result {
	runtime.GOMAXPROCS(workers)
	ch := make(chan int64, 1024)
	done := make(chan int64)
	sw := start()
	go func() {
		var s int64
		for i := 0; i < n; i++ {
			s += <-ch
		}
		done <- s
	}()
	go func() {
		for i := 0; i < n; i++ {
			ch <- int64(i)
		}
	}()
	s := <-done
	r := sw.stop(uint64(n))
	if s != tri(n) {
		fail("spsc_bounded: sum %d, want %d", s, tri(n))
	}
	return r
}

// mpsc_bounded_4p: 4 producers, 1 consumer, a channel of 1024, 2 Ps.
func mpscBounded4p(n int) result {
	runtime.GOMAXPROCS(workers)
	n = roundDown(n, 4)
	per := n / 4
	ch := make(chan int64, 1024)
	done := make(chan int64)
	sw := start()
	go func() {
		var s int64
		for i := 0; i < n; i++ {
			s += <-ch
		}
		done <- s
	}()
	for p := 0; p < 4; p++ {
		go func(base int) {
			for i := 0; i < per; i++ {
				ch <- int64(base + i)
			}
		}(p * per)
	}
	s := <-done
	r := sw.stop(uint64(n))
	if s != tri(n) {
		fail("mpsc_bounded_4p: sum %d, want %d", s, tri(n))
	}
	return r
}

// unbounded is Go's usual stand-in for an unbounded channel: a forwarding
// goroutine that takes everything offered on in, queues it in a slice,
// and offers the head of the queue on out.  Closing in closes out once the
// queue has drained.
func unbounded() (chan<- int64, <-chan int64) {
	in := make(chan int64)
	out := make(chan int64)
	go func() {
		var q []int64
		head := 0
		for in != nil || head < len(q) {
			if head == len(q) {
				q, head = q[:0], 0
				v, ok := <-in
				if !ok {
					break
				}
				q = append(q, v)
				continue
			}
			select {
			case v, ok := <-in:
				if !ok {
					in = nil
					continue
				}
				q = append(q, v)
			case out <- q[head]:
				head++
			}
		}
		close(out)
	}()
	return in, out
}

// spsc_unbounded: 1 producer, 1 consumer, an unbounded queue, 2 Ps.
// Also reports its memory as the awaitkit and tokio programs do:
// peak_queued, peak_mem_kib, mem_per_queued (bench/awaitkit/bench.h).
func spscUnbounded(n int) result {
	runtime.GOMAXPROCS(workers)
	done := make(chan int64)
	var probe queueProbe
	mem0 := memMark()
	sw := start()
	in, out := unbounded()
	go func() {
		var s int64
		var k uint64
		for v := range out {
			s += v
			k++
			probe.received(k)
		}
		done <- s
	}()
	go func() {
		for i := 0; i < n; i++ {
			in <- int64(i)
			probe.sent(uint64(i + 1))
		}
		close(in)
	}()
	s := <-done
	r := sw.stop(uint64(n))
	if s != tri(n) {
		fail("spsc_unbounded: sum %d, want %d", s, tri(n))
	}
	memExtras(&r, mem0, probe.peak(), 8)
	return r
}

// queueProbe: peak queued messages of a producer and a consumer, as
// bench/awaitkit/bench.h's bk_queue_probe: each side publishes its count
// every probeEvery messages and reads the other's, keeping the largest
// difference; the sender's view overstates the peak by less than
// probeEvery, the receiver's understates it; peak() is the larger.
const probeEvery = 1024

type padWord struct {
	v uint64
	_ [120]byte
}

type queueProbe struct {
	sentN, receivedN, peakSender, peakReceiver padWord
}

func (q *queueProbe) sent(sent uint64) {
	if sent%probeEvery != 0 {
		return
	}
	atomic.StoreUint64(&q.sentN.v, sent)
	r := atomic.LoadUint64(&q.receivedN.v)
	if sent > r && sent-r > q.peakSender.v {
		q.peakSender.v = sent - r
	}
}

func (q *queueProbe) received(received uint64) {
	if received%probeEvery != 0 {
		return
	}
	atomic.StoreUint64(&q.receivedN.v, received)
	s := atomic.LoadUint64(&q.sentN.v)
	if s > received && s-received > q.peakReceiver.v {
		q.peakReceiver.v = s - received
	}
}

// peak is read after both goroutines finished (done and close order it).
func (q *queueProbe) peak() uint64 {
	if q.peakSender.v > q.peakReceiver.v {
		return q.peakSender.v
	}
	return q.peakReceiver.v
}

// memMark: as bench/awaitkit/bench.h's bk_mem_mark(): freed memory back to
// the kernel (a collection, then debug.FreeOSMemory), the kernel's peak-RSS
// mark reset, the RSS now (bytes).
func memMark() int64 {
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		fail("clear_refs: %v", err)
	}
	return rssBytes()
}

// memPeak: the peak RSS since memMark (VmHWM), bytes.
func memPeak() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fail("status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kib, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				fail("VmHWM: %v", err)
			}
			return kib * 1024
		}
	}
	fail("no VmHWM in /proc/self/status")
	return 0
}

// memExtras: peak_queued, peak_mem_kib and mem_per_queued, as the awaitkit
// program prints them.
func memExtras(r *result, mem0 int64, peakQueued uint64, elem int) {
	grew := memPeak() - mem0
	if grew < 0 {
		grew = 0
	}
	per := 0.0
	if peakQueued > 0 {
		per = float64(grew) / (float64(peakQueued) * float64(elem))
	}
	r.extra = append(r.extra, fmt.Sprintf("peak_queued=%d", peakQueued),
		fmt.Sprintf("peak_mem_kib=%d", grew/1024), fmt.Sprintf("mem_per_queued=%.2f", per))
}

// hop is one message of pingpong_oneshot: the value, and the oneshot
// (a fresh channel of capacity 1) on which the receiver answers.
type hop struct {
	v     int
	reply chan hop
}

// pingpong_oneshot: two goroutines on one P; every hop goes over a fresh
// channel of capacity 1 made by the side that waits for it.  ops = hops.
func pingpongOneshot(n int) result {
	runtime.GOMAXPROCS(1)
	done := make(chan int, 2)
	player := func(in chan hop) {
		for {
			h := <-in
			if h.reply == nil {
				done <- h.v
				return
			}
			if h.v+1 >= n {
				h.reply <- hop{v: h.v + 1}
				done <- h.v + 1
				return
			}
			next := make(chan hop, 1)
			h.reply <- hop{v: h.v + 1, reply: next}
			in = next
		}
	}
	sw := start()
	a, b := make(chan hop, 1), make(chan hop, 1)
	go player(a)
	go player(b)
	a <- hop{v: 0, reply: b}
	v1, v2 := <-done, <-done
	r := sw.stop(uint64(n))
	if v1 != n || v2 != n {
		fail("pingpong_oneshot: ended at %d/%d, want %d", v1, v2, n)
	}
	return r
}

// pingpong_mpsc: two channels of capacity 1, two goroutines on one P.
// ops = messages (2 per round trip).
func pingpongMpsc(n int) result {
	runtime.GOMAXPROCS(1)
	n = roundDown(n, 2)
	c1, c2 := make(chan int64, 1), make(chan int64, 1)
	done := make(chan struct{})
	sw := start()
	go func() {
		for v := range c1 {
			c2 <- v + 1
		}
		close(done)
	}()
	var last int64
	for i := 0; i < n/2; i++ {
		c1 <- int64(i)
		last = <-c2
	}
	close(c1)
	<-done
	r := sw.stop(uint64(n))
	if last != int64(n/2) {
		fail("pingpong_mpsc: last %d, want %d", last, n/2)
	}
	return r
}

// rendezvous_pingpong: pingpong_mpsc on two unbuffered channels (Go's
// rendezvous, make(chan T)), two goroutines on one P.  ops = messages.
func rendezvousPingpong(n int) result {
	runtime.GOMAXPROCS(1)
	n = roundDown(n, 2)
	c1, c2 := make(chan int64), make(chan int64)
	done := make(chan struct{})
	sw := start()
	go func() {
		for v := range c1 {
			c2 <- v + 1
		}
		close(done)
	}()
	var last int64
	for i := 0; i < n/2; i++ {
		c1 <- int64(i)
		last = <-c2
	}
	close(c1)
	<-done
	r := sw.stop(uint64(n))
	if last != int64(n/2) {
		fail("rendezvous_pingpong: last %d, want %d", last, n/2)
	}
	return r
}

// padded keeps each receiver's counter on its own cache line.
type padded struct {
	n atomic.Int64
	_ [56]byte
}

// broadcast_fanout: Go has no broadcast channel: the sender sends every
// message on 8 channels of capacity 1024, one per receiver.  A full channel
// blocks the sender, so nothing is ever dropped: lagged is always 0.  The
// sender throttles like every peer: every 64 messages it yields while it is
// more than 1024-128 messages ahead of the slowest receiver.
// ops = messages x receivers; n is rounded to a multiple of 8.
func broadcastFanout(n int) result {
	const nrecv, capacity = 8, 1024
	runtime.GOMAXPROCS(workers)
	n = roundDown(n, nrecv)
	msgs := n / nrecv
	chans := make([]chan int64, nrecv)
	for i := range chans {
		chans[i] = make(chan int64, capacity)
	}
	var got [nrecv]padded
	sums := make(chan int64, nrecv)
	slowest := func() int64 {
		m := got[0].n.Load()
		for i := 1; i < nrecv; i++ {
			if v := got[i].n.Load(); v < m {
				m = v
			}
		}
		return m
	}
	sw := start()
	for i := range chans {
		go func(ch chan int64, cnt *atomic.Int64) {
			var s, k int64
			for v := range ch {
				s += v
				k++
				cnt.Store(k)
			}
			sums <- s
		}(chans[i], &got[i].n)
	}
	for i := 0; i < msgs; i++ {
		if i%64 == 0 {
			for int64(i)-slowest() > capacity-128 {
				runtime.Gosched()
			}
		}
		for _, ch := range chans {
			ch <- int64(i)
		}
	}
	for _, ch := range chans {
		close(ch)
	}
	var total int64
	for i := 0; i < nrecv; i++ {
		total += <-sums
	}
	r := sw.stop(uint64(n))
	if total != nrecv*tri(msgs) {
		fail("broadcast_fanout: sum %d, want %d", total, nrecv*tri(msgs))
	}
	r.extra = append(r.extra, "lagged=0")
	return r
}

// watch_readers: Go has no watch channel.  Its closest idiomatic form is
// a value behind a sync.RWMutex (tokio's watch is a value behind an
// RwLock plus a version): the writer stores n updates under the write
// lock, 4 readers borrow (read-lock, read, unlock) in a loop until the
// writer is done.  ns_per_op is per writer update.
func watchReaders(n int) result {
	const nreaders = 4
	runtime.GOMAXPROCS(workers)
	var (
		mu      sync.RWMutex
		val     int64
		version uint64
		stop    atomic.Bool
		wg      sync.WaitGroup
		borrows [nreaders]padded
	)
	wg.Add(nreaders)
	sw := start()
	for i := 0; i < nreaders; i++ {
		go func(cnt *atomic.Int64) {
			var k, last int64
			for !stop.Load() {
				mu.RLock()
				v := val
				mu.RUnlock()
				if v < last {
					fail("watch_readers: value went back from %d to %d", last, v)
				}
				last = v
				k++
			}
			cnt.Store(k)
			wg.Done()
		}(&borrows[i].n)
	}
	for i := 1; i <= n; i++ {
		mu.Lock()
		val = int64(i)
		version++
		mu.Unlock()
	}
	el := time.Since(sw.t0)
	stop.Store(true)
	wg.Wait()
	r := sw.stop(uint64(n))
	r.elapsed = el
	if version != uint64(n) {
		fail("watch_readers: version %d, want %d", version, n)
	}
	var total int64
	for i := range borrows {
		total += borrows[i].n.Load()
	}
	perReader := float64(total) / nreaders / el.Seconds()
	r.extra = append(r.extra, fmt.Sprintf("borrows_per_sec_per_reader=%.0f", perReader))
	return r
}

// ---- locks ------------------------------------------------------------------

// mutex_contended: 16 goroutines on 2 Ps lock, increment, unlock.
// sync.Mutex lets a running goroutine barge ahead of parked waiters
// (it turns FIFO only after a waiter has starved for 1 ms).
func mutexContended(n int) result {
	const tasks = 16
	runtime.GOMAXPROCS(workers)
	n = roundDown(n, tasks)
	per := n / tasks
	var (
		mu      sync.Mutex
		counter int
		wg      sync.WaitGroup
	)
	wg.Add(tasks)
	sw := start()
	for t := 0; t < tasks; t++ {
		go func() {
			for i := 0; i < per; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	r := sw.stop(uint64(n))
	if counter != n {
		fail("mutex_contended: counter %d, want %d", counter, n)
	}
	return r
}

// semaphore_contended: 16 goroutines on 2 Ps, 4 permits.  Go's standard
// library has no semaphore: the idiom is a buffered channel of 4 (send to
// acquire, receive to release).
func semaphoreContended(n int) result {
	const tasks, permits = 16, 4
	runtime.GOMAXPROCS(workers)
	n = roundDown(n, tasks)
	per := n / tasks
	var (
		sem     = make(chan struct{}, permits)
		inside  atomic.Int64
		counter atomic.Int64
		over    atomic.Bool
		wg      sync.WaitGroup
	)
	wg.Add(tasks)
	sw := start()
	for t := 0; t < tasks; t++ {
		go func() {
			for i := 0; i < per; i++ {
				sem <- struct{}{}
				if inside.Add(1) > permits {
					over.Store(true)
				}
				counter.Add(1)
				inside.Add(-1)
				<-sem
			}
			wg.Done()
		}()
	}
	wg.Wait()
	r := sw.stop(uint64(n))
	if counter.Load() != int64(n) || over.Load() {
		fail("semaphore_contended: counter %d, want %d, over %v",
			counter.Load(), n, over.Load())
	}
	return r
}

// ---- select -----------------------------------------------------------------

// select_2chan: one consumer selects over 2 channels of 1024 fed by one
// producer each, 2 Ps.  ops = messages received.
func select2chan(n int) result {
	runtime.GOMAXPROCS(workers)
	n = roundDown(n, 2)
	per := n / 2
	c1, c2 := make(chan int64, 1024), make(chan int64, 1024)
	feed := func(ch chan int64, base int) {
		for i := 0; i < per; i++ {
			ch <- int64(base + i)
		}
		close(ch)
	}
	sw := start()
	go feed(c1, 0)
	go feed(c2, per)
	var s int64
	var k int
	for c1 != nil || c2 != nil {
		select {
		case v, ok := <-c1:
			if !ok {
				c1 = nil
				continue
			}
			s += v
			k++
		case v, ok := <-c2:
			if !ok {
				c2 = nil
				continue
			}
			s += v
			k++
		}
	}
	r := sw.stop(uint64(n))
	if k != n || s != tri(n) {
		fail("select_2chan: %d messages sum %d, want %d sum %d", k, s, n, tri(n))
	}
	return r
}

// ---- notify -----------------------------------------------------------------

// notify stands in for Notify::notify_one: a channel of capacity 1 holds
// at most one stored permit; notifying when one is stored does nothing.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// notify_pingpong: two goroutines on one P wake each other through two
// channels of capacity 1.  ops = notifications (2 per round trip).
func notifyPingpong(n int) result {
	runtime.GOMAXPROCS(1)
	n = roundDown(n, 2)
	a, b := make(chan struct{}, 1), make(chan struct{}, 1)
	done := make(chan struct{})
	sw := start()
	go func() {
		for i := 0; i < n/2; i++ {
			<-a
			notify(b)
		}
		close(done)
	}()
	for i := 0; i < n/2; i++ {
		notify(a)
		<-b
	}
	<-done
	return sw.stop(uint64(n))
}

// ---- threads ----------------------------------------------------------------

// thread_blocking_spsc: Go has no channel API for plain threads; the
// nearest is a producer and a consumer goroutine each locked to its own OS
// thread (runtime.LockOSThread) on a channel of 1024, 2 Ps.
func threadBlockingSpsc(n int) result {
	runtime.GOMAXPROCS(workers)
	ch := make(chan int64, 1024)
	done := make(chan int64)
	ready := make(chan struct{}, 2)
	begin := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		ready <- struct{}{}
		<-begin
		var s int64
		for i := 0; i < n; i++ {
			s += <-ch
		}
		done <- s
	}()
	go func() {
		runtime.LockOSThread()
		ready <- struct{}{}
		<-begin
		for i := 0; i < n; i++ {
			ch <- int64(i)
		}
	}()
	<-ready
	<-ready
	sw := start()
	close(begin)
	s := <-done
	r := sw.stop(uint64(n))
	if s != tri(n) {
		fail("thread_blocking_spsc: sum %d, want %d", s, tri(n))
	}
	return r
}

// ---- memory -----------------------------------------------------------------

var sinkBounded, sinkOneshot chan int64

// create_drop: make a channel of 16 and a channel of 1 (the oneshot) and
// drop both (they become garbage).  One P, so the collector's work shows
// in the wall time instead of hiding on the other CPU.  ns per pair.
func createDrop(n int) result {
	runtime.GOMAXPROCS(1)
	sw := start()
	for i := 0; i < n; i++ {
		b := make(chan int64, 16)
		o := make(chan int64, 1)
		sinkBounded, sinkOneshot = b, o
	}
	r := sw.stop(uint64(n))
	sinkBounded, sinkOneshot = nil, nil
	return r
}

// rssBytes reads the resident set size from /proc/self/statm.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		fail("idle_channels: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		fail("idle_channels: statm: %v", err)
	}
	return pages * int64(os.Getpagesize())
}

// idle_channels: n channels of capacity 16 alive at once; bytes per
// channel from the growth of RSS.  The slice that holds them is made and
// touched before the first RSS reading.  ns_per_op is per creation.  Then
// one message passes through each channel (untimed) and the growth is
// read again: bytes_per_channel_after_one.
func idleChannels(n int) result {
	chans := make([]chan int64, n)
	dummy := make(chan int64)
	for i := range chans {
		chans[i] = dummy
	}
	runtime.GC()
	before := rssBytes()
	sw := start()
	for i := range chans {
		chans[i] = make(chan int64, 16)
	}
	r := sw.stop(uint64(n))
	after := rssBytes()
	runtime.KeepAlive(chans)
	r.extra = append(r.extra, fmt.Sprintf("bytes_per_channel=%.1f",
		float64(after-before)/float64(n)))
	for i, ch := range chans {
		ch <- int64(i)
		if v := <-ch; v != int64(i) {
			fail("idle_channels: message %d lost", i)
		}
	}
	used := rssBytes()
	runtime.KeepAlive(chans)
	r.extra = append(r.extra, fmt.Sprintf("bytes_per_channel_after_one=%.1f",
		float64(used-before)/float64(n)))
	return r
}

// ---- main -------------------------------------------------------------------

// workers: GOMAXPROCS of the cross-thread workloads (--workers N, default 2).
var workers = 2

var workloads = map[string]struct {
	fn   func(int) result
	size int
}{
	"spsc_bounded":         {spscBounded, 12000000},
	"mpsc_bounded_4p":      {mpscBounded4p, 20000000},
	"spsc_unbounded":       {spscUnbounded, 2500000},
	"pingpong_oneshot":     {pingpongOneshot, 3000000},
	"pingpong_mpsc":        {pingpongMpsc, 8000000},
	"broadcast_fanout":     {broadcastFanout, 8000000},
	"watch_readers":        {watchReaders, 2000000},
	"mutex_contended":      {mutexContended, 60000000},
	"semaphore_contended":  {semaphoreContended, 6000000},
	"select_2chan":         {select2chan, 10000000},
	"notify_pingpong":      {notifyPingpong, 10000000},
	"thread_blocking_spsc": {threadBlockingSpsc, 8000000},
	"create_drop":          {createDrop, 8000000},
	"idle_channels":        {idleChannels, 1000000},
	"rendezvous_pingpong":  {rendezvousPingpong, 8000000},
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peer-go <workload> [--size N] [--workers N]")
		os.Exit(2)
	}
	name := os.Args[1]
	w, ok := workloads[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "peer-go: no workload %q\n", name)
		os.Exit(3)
	}
	size := w.size
	for i := 2; i < len(os.Args); i++ {
		if os.Args[i] == "--workers" && i+1 < len(os.Args) {
			v, err := strconv.Atoi(os.Args[i+1])
			if err != nil || v <= 0 || v > 1024 {
				fmt.Fprintf(os.Stderr, "peer-go: bad --workers %q\n", os.Args[i+1])
				os.Exit(2)
			}
			workers = v
			i++
		} else if os.Args[i] == "--size" && i+1 < len(os.Args) {
			v, err := strconv.Atoi(os.Args[i+1])
			if err != nil || v <= 0 {
				fmt.Fprintf(os.Stderr, "peer-go: bad --size %q\n", os.Args[i+1])
				os.Exit(2)
			}
			size = v
			i++
		} else {
			fmt.Fprintf(os.Stderr, "peer-go: unknown argument %q\n", os.Args[i])
			os.Exit(2)
		}
	}
	// The warm-up every implementation runs (bench/README.md, "The
	// warm-up"): the same function, untimed, in this process, with a
	// twentieth of the size (at least 1000 ops, at most the size), just
	// before the timed run; none for idle_channels, whose RSS figure
	// memory freed by a warm-up would spoil.
	if name != "idle_channels" {
		warm := size / 20
		if warm < 1000 {
			warm = 1000
		}
		if warm > size {
			warm = size
		}
		w.fn(warm)
	}
	r := w.fn(size)
	var sb strings.Builder
	fmt.Fprintf(&sb, "RESULT workload=%s impl=go ops=%d ns_per_op=%.3f allocs_per_op=%.4f",
		name, r.ops, float64(r.elapsed.Nanoseconds())/float64(r.ops),
		float64(r.mallocs)/float64(r.ops))
	for _, e := range r.extra {
		sb.WriteString(" ")
		sb.WriteString(e)
	}
	fmt.Println(sb.String())
}
