namespace RaePipeline.Host;

/// <summary>
/// Parsed arguments: <c>rae &lt;command&gt; [pipeline.yaml] [--device D] [--seed N] [--set k=v]... [--run-dir DIR]
/// [--only a,b] [--skip a,b] [-v] [--key value]...</c>. Unknown <c>--key value</c> pairs are job options for
/// <c>rae &lt;job&gt;</c> commands.
/// </summary>
public sealed class CommandLine
{
    public string Command { get; private init; } = "help";
    public string? PipelinePath { get; private set; }
    public List<string> Overrides { get; } = [];
    public string? RunDirectory { get; private set; }
    public HashSet<string> Only { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Skip { get; } = new(StringComparer.Ordinal);
    public bool Verbose { get; private set; }

    /// <summary>Options for a job command, in order: (key, value).</summary>
    public List<(string Key, string Value)> JobOptions { get; } = [];

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help") return new CommandLine();
        var line = new CommandLine { Command = args[0] };
        for (int i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"option {arg} needs a value");
            switch (arg)
            {
                case "-v" or "--verbose":
                    line.Verbose = true;
                    break;
                case "--device":
                    line.Overrides.Add("device=" + Next());
                    break;
                case "--seed":
                    line.Overrides.Add("seed=" + Next());
                    break;
                case "--set":
                    line.Overrides.Add(Next());
                    break;
                case "--run-dir":
                    line.RunDirectory = Next();
                    break;
                case "--only":
                    line.Only.UnionWith(Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--skip":
                    line.Skip.UnionWith(Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                default:
                    if (arg.StartsWith("--", StringComparison.Ordinal))
                    {
                        var key = arg[2..];
                        int equals = key.IndexOf('=');
                        if (equals > 0) line.JobOptions.Add((key[..equals], key[(equals + 1)..]));
                        else line.JobOptions.Add((key, Next()));
                    }
                    else if (line.PipelinePath == null) line.PipelinePath = arg;
                    else throw new ArgumentException($"unexpected argument '{arg}'");
                    break;
            }
        }
        return line;
    }

    public const string Usage = """
        rae: pipelines for Diffusion Transformers with Representation Autoencoders

        usage:
          rae run <pipeline.yaml> [--only job,...] [--skip job,...]   run the pipeline's jobs in order
          rae validate <pipeline.yaml>                                 check it without running anything heavy
          rae plugins                                                  list installed components by role
          rae jobs                                                     list the jobs a pipeline can name
          rae <job> <pipeline.yaml> [--option value ...]               run one job (its block in the file, if any,
                                                                       plus these options), e.g. rae sample p.yaml --num-images 16

        options for every command:
          --device auto|cpu|cuda|cuda:N   override the pipeline's device
          --seed N                        override the pipeline's seed
          --set path.to.key=value         override any value of the pipeline (repeatable)
          --run-dir DIR                   run folder (default: the pipeline's output, or runs/<name>)
          -v, --verbose                   debug logging and stack traces
        plugin folders: plugins/ beside rae, RAE_PLUGIN_PATH, and the pipeline's `plugins:` list
        """;
}
