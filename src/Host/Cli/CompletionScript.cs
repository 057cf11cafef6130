namespace RaePipeline.Host.Cli;

/// <summary>
/// Shell scripts for tab completion: the shell asks <c>rae</c> itself through System.CommandLine's
/// <c>[suggest:position]</c> directive, so completions (commands, options, job names, enum values) always match the
/// installed host. Without suggestions the shell completes file names (pipeline files).
/// </summary>
static class CompletionScript
{
    public static readonly string[] Shells = ["bash", "zsh"];

    public static string For(string shell) => shell == "zsh" ? "autoload -U +X bashcompinit && bashcompinit\n" + Bash : Bash;

    const string Bash = """
        # rae tab completion: add to ~/.bashrc with  eval "$(rae completion bash)"
        _rae_complete() {
            local IFS=$'\n'
            local suggestions
            suggestions=$(rae "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)
            COMPREPLY=($(compgen -W "${suggestions}" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -o bashdefault -F _rae_complete rae

        """;
}
