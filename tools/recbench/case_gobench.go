package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// caseGoBench runs the Go benchmarks of the hot functions (envelope encoding, filters,
// paging tokens, documents, listing merge) and keeps their output as is: benchstat reads it.
func (b *bench) caseGoBench(ctx context.Context) error {
	if strings.TrimSpace(b.cfg.goBench) == "" {
		return nil
	}
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem",
		"-count", fmt.Sprint(b.cfg.goBenchCnt), "-benchtime", b.cfg.goBenchTime}
	args = append(args, strings.Fields(b.cfg.goBench)...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	b.goBench = "$ go " + strings.Join(args, " ") + "\n" + out.String()
	if err != nil {
		// Not fatal: the comparisons above are the point of the run.
		b.logf("Go benchmarks failed: %v", err)
		b.goBench += fmt.Sprintf("\n(failed: %v)\n", err)
	}
	return nil
}
