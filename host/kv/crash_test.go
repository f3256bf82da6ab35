package kv_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splicehq/splice/host/kv"
)

// crashDirEnv names the environment variable that turns TestCrashChild into the child process of
// TestCrash and gives it the database directory.
const crashDirEnv = "SPLICE_KV_CRASH_DIR"

// crashCycleEnv gives the child its cycle number, which its keys carry.
const crashCycleEnv = "SPLICE_KV_CRASH_CYCLE"

// TestCrash kills a writing process with SIGKILL at random moments, 20 times over one database: each
// cycle runs TestCrashChild in a child process that acknowledges writes on stdout and kills it after
// a random number of acknowledgements. Each restarted child must open the database again; at the
// end every key acknowledged in any cycle must be there.
//
// A kill -9 does not prove that the writes were fsynced: Badger writes its logs through mmap, so
// the kernel keeps acknowledged data in the page cache even without an fsync, and only a power
// loss would tell. What this test proves is that the process can die at any moment without losing
// an acknowledged write or leaving a database that does not open; TestCommitFailureFailsEveryCaller
// covers the failure path (a failed sync is never acknowledged).
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Parallel()
	const cycles = 20
	dir := t.TempDir()
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var acked []string
	for cycle := 0; cycle < cycles; cycle++ {
		want := 1 + rnd.IntN(800)
		got, err := crashCycle(t, dir, cycle, want)
		acked = append(acked, got...)
		if err != nil {
			t.Fatalf("cycle %d (kill after %d acks): %v", cycle, want, err)
		}
	}

	db := openDB(t, kv.Options{Dir: dir})
	missing := 0
	for _, k := range acked {
		v, err := db.Get([]byte(k))
		if err != nil || string(v) != k {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged key %q: %q, %v", k, v, err)
			}
		}
	}
	t.Logf("%d cycles, %d acknowledged keys checked after SIGKILLs, %d missing", cycles, len(acked), missing)
	if missing > 0 {
		t.Errorf("%d of %d acknowledged keys missing", missing, len(acked))
	}
}

// crashCycle starts a child writing to dir, kills it after want acknowledgements and returns every
// acknowledged key (those printed before the kill included).
func crashCycle(t *testing.T, dir string, cycle, want int) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashCycleEnv+"="+strconv.Itoa(cycle))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var acked []string
	var said strings.Builder // what else the child printed: its test's failure, if any
	read := func(line string) {
		if k, ok := strings.CutPrefix(line, "ack "); ok {
			acked = append(acked, k)
		} else if said.Len() < 4096 {
			said.WriteString(line + "\n")
		}
	}
	sc := bufio.NewScanner(out)
	for len(acked) < want && sc.Scan() {
		read(sc.Text())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return acked, err
	}
	for sc.Scan() { // acknowledgements printed before the kill count too
		read(sc.Text())
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		return acked, fmt.Errorf("child ended with %v after %d acks, want killed by SIGKILL; it printed:\n%s", err, len(acked), said.String())
	}
	if len(acked) < want {
		return acked, fmt.Errorf("child acknowledged only %d writes", len(acked))
	}
	return acked, nil
}

// TestCrashChild is the child process of TestCrash: it writes keys from 8 goroutines until it is
// killed, printing each key once its Write has returned.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestCrash")
	}
	db, err := kv.Open(kv.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(50 * time.Second) // in case the parent never kills us
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				k := fmt.Sprintf("crash/%s/%d/%08d", os.Getenv(crashCycleEnv), g, i)
				if err := db.Write(context.Background(), kv.Put([]byte(k), []byte(k))); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Fprintf(w, "ack %s\n", k)
				w.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	db.Close()
}
