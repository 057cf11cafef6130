using System.Globalization;
using RaePipeline.Weights;
using ScottPlot;

namespace RaePipeline.Evaluation;

/// <summary>A named line of a line chart: its (x, y) points.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<(double X, double Y)> Points);

/// <summary>
/// PNG charts of comparison reports, drawn by ScottPlot at <see cref="Width"/> x <see cref="Height"/> pixels: a bar
/// per run for a metric (the best run's bar highlighted), or lines with a legend (loss curves over steps, quality
/// over evaluations). Files are written atomically.
/// </summary>
public static class Chart
{
    public const int Width = 900;
    public const int Height = 520;

    const string PreferredFont = "DejaVu Sans";
    static readonly Color BarColour = Color.FromHex("#1f77b4");
    static readonly Color BestColour = Color.FromHex("#ff7f0e");

    // Lines that coincide (equal samplers, say) stay visible: each series has its own marker and dash pattern.
    static readonly MarkerShape[] Markers =
        [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.OpenDiamond, MarkerShape.Cross];
    static readonly LinePattern[] Patterns = [LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted, LinePattern.DenselyDashed];

    /// <summary>
    /// One bar per label with its value written above it; the bar at <paramref name="best"/> (if any) is drawn in
    /// another colour and the title says which way is better (<paramref name="direction"/>).
    /// </summary>
    public static void Bars(string path, string title, IReadOnlyList<string> labels, IReadOnlyList<double> values,
        int? best = null, MetricDirection direction = MetricDirection.None)
    {
        if (labels.Count != values.Count || labels.Count == 0)
            throw new ArgumentException($"a bar chart needs one value per label; got {labels.Count} labels and {values.Count} values");
        if (values.Any(v => !double.IsFinite(v)))
            throw new ArgumentException($"the bar chart '{title}' has a value that is not finite");
        var plot = NewPlot(direction == MetricDirection.None ? title : $"{title} ({direction.Describe()}; best in orange)");
        var bars = labels.Select((_, i) => new Bar
        {
            Position = i,
            Value = values[i],
            FillColor = i == best ? BestColour : BarColour,
            Label = Format(values[i]),
        }).ToList();
        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 13;
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, labels.Count).Select(i => (double)i).ToArray(), labels.ToArray());
        if (labels.Sum(l => l.Length) > 90)
        {
            // Slanted names, with the axis made tall enough for the longest (about 7 px per character at 30°).
            plot.Axes.Bottom.TickLabelStyle.Rotation = -30;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.UpperRight;
            plot.Axes.Bottom.MinimumSize = 20 + 7.5f * labels.Max(l => l.Length) * 0.5f;
        }
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Margins(bottom: 0);
        plot.YLabel(title);
        Save(plot, path);
    }

    /// <summary>One line per series (its own colour, dash pattern and, when it has few points, marker), and a legend.</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series)
    {
        var drawn = series
            .Select(s => s with { Points = s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).OrderBy(p => p.X).ToList() })
            .Where(s => s.Points.Count > 0)
            .ToList();
        if (drawn.Count == 0) throw new ArgumentException($"the line chart '{title}' has no finite points");
        var plot = NewPlot(title);
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < drawn.Count; i++)
        {
            var line = plot.Add.Scatter(drawn[i].Points.Select(p => p.X).ToArray(), drawn[i].Points.Select(p => p.Y).ToArray(),
                palette.GetColor(i));
            line.LegendText = drawn[i].Name;
            line.LineWidth = 2;
            line.LinePattern = Patterns[i % Patterns.Length];
            line.MarkerShape = Markers[i % Markers.Length];
            line.MarkerSize = drawn[i].Points.Count <= 30 ? 9 : 0;
        }
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path);
    }

    static Plot NewPlot(string title)
    {
        var plot = new Plot();
        if (SkiaSharp.SKFontManager.Default.FontFamilies.Contains(PreferredFont)) plot.Font.Set(PreferredFont);
        plot.Title(title);
        return plot;
    }

    static void Save(Plot plot, string path)
    {
        var png = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }

    static string Format(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
