// compose-config loads a Compose file the way `docker compose config` does (the
// compose-spec/compose-go loader: interpolation, schema, normalisation, semantic checks)
// and prints the resolved model as YAML; it exits non-zero with the loader's message
// when the file is not valid.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-config FILE [ENV_FILE]")
		os.Exit(2)
	}
	options := []cli.ProjectOptionsFn{cli.WithOsEnv, cli.WithName("interaction-hub")}
	if len(os.Args) > 2 {
		options = append(options, cli.WithEnvFiles(os.Args[2]), cli.WithDotEnv)
	}
	opts, err := cli.NewProjectOptions([]string{os.Args[1]}, options...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
