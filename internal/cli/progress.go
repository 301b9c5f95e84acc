package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// spinner shows that something is being waited for. On a terminal it
// animates a line on w; elsewhere it prints the message once.
type spinner struct {
	stop chan struct{}
	done sync.WaitGroup
}

func startSpinner(w io.Writer, message string) *spinner {
	s := &spinner{stop: make(chan struct{})}
	if !terminal(w) {
		fmt.Fprintln(w, message)
		return s
	}
	frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(120 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%c %s", frames[i%len(frames)], message)
			select {
			case <-s.stop:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the animation and clears its line.
func (s *spinner) Stop() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.done.Wait()
}

// tokenBar shows tokens being fetched: a progress bar on a terminal,
// nothing elsewhere (the caller prints the result).
type tokenBar struct {
	bar *progressbar.ProgressBar
}

func newTokenBar(w io.Writer, description string) *tokenBar {
	if !terminal(w) {
		return &tokenBar{}
	}
	return &tokenBar{bar: progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(50*time.Millisecond),
	)}
}

// Set shows done of total tokens.
func (b *tokenBar) Set(done, total int) {
	if b.bar == nil {
		return
	}
	if b.bar.GetMax() != total {
		b.bar.ChangeMax(total)
	}
	_ = b.bar.Set(done)
}

// Finish clears the bar.
func (b *tokenBar) Finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		_ = b.bar.Clear()
	}
}
