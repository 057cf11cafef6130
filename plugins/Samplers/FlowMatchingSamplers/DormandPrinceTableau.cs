namespace RaePipeline.Samplers.FlowMatching;

/// <summary>
/// The Dormand-Prince 5(4) tableau with Shampine's dense-output midpoint weights, as torchdiffeq 0.2.5 states it
/// (<c>_impl/dopri5.py</c>: <c>_DORMAND_PRINCE_SHAMPINE_TABLEAU</c>, <c>DPS_C_MID</c>). Stage i + 1 (i = 0..5) is taken
/// at t0 + Alpha[i] dt from y0 + dt sum_j Beta[i][j] k_j; the fifth-order solution uses the weights of the last stage
/// (Beta[5], first same as last), Error holds the fifth- minus fourth-order weights of all seven stages and Middle
/// the weights of y(t0 + dt / 2) for the quartic interpolant.
/// </summary>
static class DormandPrinceTableau
{
    public static readonly double[] Alpha = [1 / 5.0, 3 / 10.0, 4 / 5.0, 8 / 9.0, 1.0, 1.0];

    public static readonly double[][] Beta =
    [
        [1 / 5.0],
        [3 / 40.0, 9 / 40.0],
        [44 / 45.0, -56 / 15.0, 32 / 9.0],
        [19372 / 6561.0, -25360 / 2187.0, 64448 / 6561.0, -212 / 729.0],
        [9017 / 3168.0, -355 / 33.0, 46732 / 5247.0, 49 / 176.0, -5103 / 18656.0],
        [35 / 384.0, 0, 500 / 1113.0, 125 / 192.0, -2187 / 6784.0, 11 / 84.0],
    ];

    public static readonly double[] Error =
    [
        35 / 384.0 - 1951 / 21600.0,
        0,
        500 / 1113.0 - 22642 / 50085.0,
        125 / 192.0 - 451 / 720.0,
        -2187 / 6784.0 - -12231 / 42400.0,
        11 / 84.0 - 649 / 6300.0,
        -1.0 / 60.0,
    ];

    public static readonly double[] Middle =
    [
        6025192743 / 30085553152.0 / 2, 0, 51252292925 / 65400821598.0 / 2, -2691868925 / 45128329728.0 / 2,
        187940372067 / 1594534317056.0 / 2, -1776094331 / 19743644256.0 / 2, 11237099 / 235043384.0 / 2,
    ];

    /// <summary>Order of the solution the controller steps with (torchdiffeq's <c>Dopri5Solver.order</c>).</summary>
    public const int Order = 5;
}
