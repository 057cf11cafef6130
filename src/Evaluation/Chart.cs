using System.Globalization;
using RaePipeline.Weights;
using SkiaSharp;

namespace RaePipeline.Evaluation;

/// <summary>Small PNG charts for comparison reports: a bar per run, or one line per run over steps.</summary>
public static class Chart
{
    const int Width = 900, Height = 520;
    const float Left = 90, Right = 30, Top = 50, Bottom = 120;

    static readonly SKColor[] Palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xff, 0x7f, 0x0e), new(0x2c, 0xa0, 0x2c), new(0xd6, 0x27, 0x28), new(0x94, 0x67, 0xbd),
        new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0x7f, 0x7f, 0x7f), new(0xbc, 0xbd, 0x22), new(0x17, 0xbe, 0xcf),
    ];

    /// <summary>One bar per label with its value written above it; writes a PNG atomically.</summary>
    public static void Bars(string path, string title, IReadOnlyList<string> labels, IReadOnlyList<double> values)
    {
        if (labels.Count != values.Count || labels.Count == 0)
            throw new ArgumentException($"a bar chart needs one value per label; got {labels.Count} labels and {values.Count} values");
        double low = Math.Min(0, values.Min()), high = Math.Max(0, values.Max());
        var (min, max) = Range(low, high);
        Draw(path, title, canvas =>
        {
            var plot = PlotArea();
            DrawAxes(canvas, plot, min, max, yLabel: title);
            float slot = plot.Width / labels.Count;
            float zero = Y(plot, 0, min, max);
            using var text = TextPaint(13);
            for (int i = 0; i < labels.Count; i++)
            {
                float x0 = plot.Left + slot * (i + 0.15f), x1 = plot.Left + slot * (i + 0.85f);
                float y = Y(plot, values[i], min, max);
                using var fill = new SKPaint { Color = Palette[i % Palette.Length], IsAntialias = true };
                canvas.DrawRect(new SKRect(x0, Math.Min(y, zero), x1, Math.Max(y, zero)), fill);
                text.TextAlign = SKTextAlign.Center;
                canvas.DrawText(FormatValue(values[i]), (x0 + x1) / 2, Math.Min(y, zero) - 6, text);
                DrawRotatedLabel(canvas, labels[i], (x0 + x1) / 2, plot.Bottom + 14);
            }
        });
    }

    /// <summary>One line per named series over (step, value) points, with a legend; writes a PNG atomically.</summary>
    public static void Lines(string path, string title, IReadOnlyList<(string Name, IReadOnlyList<(long Step, double Value)> Points)> series)
    {
        var points = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Value)).ToList();
        if (points.Count == 0) throw new ArgumentException($"the line chart '{title}' has no finite points");
        var (min, max) = Range(points.Min(p => p.Value), points.Max(p => p.Value));
        double firstStep = points.Min(p => p.Step), lastStep = Math.Max(points.Max(p => p.Step), firstStep + 1);
        Draw(path, title, canvas =>
        {
            var plot = PlotArea();
            DrawAxes(canvas, plot, min, max, yLabel: title);
            using var text = TextPaint(12);
            text.TextAlign = SKTextAlign.Center;
            foreach (var step in Ticks(firstStep, lastStep, 6))
                canvas.DrawText(FormatValue(step), X(plot, step, firstStep, lastStep), plot.Bottom + 18, text);
            canvas.DrawText("step", plot.MidX, plot.Bottom + 40, text);
            for (int s = 0; s < series.Count; s++)
            {
                using var stroke = new SKPaint
                {
                    Color = Palette[s % Palette.Length], IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 2,
                };
                using var line = new SKPath();
                bool started = false;
                foreach (var (step, value) in series[s].Points.Where(p => double.IsFinite(p.Value)).OrderBy(p => p.Step))
                {
                    var point = new SKPoint(X(plot, step, firstStep, lastStep), Y(plot, value, min, max));
                    if (started) line.LineTo(point);
                    else line.MoveTo(point);
                    started = true;
                }
                canvas.DrawPath(line, stroke);
            }
            DrawLegend(canvas, plot, series.Select(s => s.Name).ToList());
        });
    }

    /// <summary>Series names in their colours, in a white box at the top right of the plot.</summary>
    static void DrawLegend(SKCanvas canvas, SKRect plot, IReadOnlyList<string> names)
    {
        using var text = TextPaint(12);
        float width = names.Max(n => text.MeasureText(n)) + 34, height = 16 * names.Count + 8;
        var box = new SKRect(plot.Right - width - 8, plot.Top + 8, plot.Right - 8, plot.Top + 8 + height);
        using var background = new SKPaint { Color = SKColors.White.WithAlpha(230) };
        using var border = new SKPaint { Color = new SKColor(0xb0, 0xb0, 0xb0), Style = SKPaintStyle.Stroke };
        canvas.DrawRect(box, background);
        canvas.DrawRect(box, border);
        for (int i = 0; i < names.Count; i++)
        {
            float y = box.Top + 16 * (i + 1);
            using var swatch = new SKPaint { Color = Palette[i % Palette.Length], StrokeWidth = 3 };
            canvas.DrawLine(box.Left + 6, y - 4, box.Left + 24, y - 4, swatch);
            canvas.DrawText(names[i], box.Left + 30, y, text);
        }
    }

    static SKRect PlotArea() => new(Left, Top, Width - Right, Height - Bottom);

    static void Draw(string path, string title, Action<SKCanvas> body)
    {
        using var surface = SKSurface.Create(new SKImageInfo(Width, Height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using (var heading = TextPaint(18))
        {
            heading.TextAlign = SKTextAlign.Center;
            canvas.DrawText(title, Width / 2f, 30, heading);
        }
        body(canvas);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, stream => png.SaveTo(stream));
    }

    static void DrawAxes(SKCanvas canvas, SKRect plot, double min, double max, string yLabel)
    {
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(0xe0, 0xe0, 0xe0), StrokeWidth = 1 };
        using var text = TextPaint(12);
        text.TextAlign = SKTextAlign.Right;
        foreach (var tick in Ticks(min, max, 6))
        {
            float y = Y(plot, tick, min, max);
            canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
            canvas.DrawText(FormatValue(tick), plot.Left - 6, y + 4, text);
        }
        canvas.DrawLine(plot.Left, plot.Top, plot.Left, plot.Bottom, axis);
        canvas.DrawLine(plot.Left, plot.Bottom, plot.Right, plot.Bottom, axis);
        canvas.Save();
        canvas.RotateDegrees(-90, 18, plot.MidY);
        text.TextAlign = SKTextAlign.Center;
        canvas.DrawText(yLabel, 18, plot.MidY, text);
        canvas.Restore();
    }

    static void DrawRotatedLabel(SKCanvas canvas, string label, float x, float y)
    {
        using var text = TextPaint(12);
        text.TextAlign = SKTextAlign.Right;
        canvas.Save();
        canvas.RotateDegrees(-30, x, y);
        canvas.DrawText(label.Length > 40 ? label[..40] + "…" : label, x, y, text);
        canvas.Restore();
    }

    static SKPaint TextPaint(float size) => new()
    {
        Color = SKColors.Black, IsAntialias = true, TextSize = size,
        Typeface = SKTypeface.FromFamilyName("DejaVu Sans") ?? SKTypeface.Default,
    };

    static float X(SKRect plot, double step, double first, double last) =>
        plot.Left + (float)((step - first) / (last - first)) * plot.Width;

    static float Y(SKRect plot, double value, double min, double max) =>
        plot.Bottom - (float)((value - min) / (max - min)) * plot.Height;

    /// <summary>A value range with some head room; a flat range is widened so it can be drawn.</summary>
    static (double Min, double Max) Range(double low, double high)
    {
        if (high - low < 1e-12 * Math.Max(1, Math.Abs(high))) return (low - Math.Max(1, Math.Abs(low)) * 0.5, high + Math.Max(1, Math.Abs(high)) * 0.5);
        double pad = (high - low) * 0.1;
        return (low < 0 ? low - pad : low == 0 ? 0 : low - pad, high + pad);
    }

    /// <summary>About <paramref name="count"/> round tick values covering [min, max].</summary>
    static IEnumerable<double> Ticks(double min, double max, int count)
    {
        double raw = (max - min) / count;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        for (double tick = Math.Ceiling(min / step) * step; tick <= max + step * 1e-9; tick += step)
            yield return Math.Abs(tick) < step * 1e-9 ? 0 : tick;
    }

    static string FormatValue(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
