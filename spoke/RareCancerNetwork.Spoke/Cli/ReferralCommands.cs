using System.CommandLine;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Node.Referrals;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;
using Spectre.Console;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>
/// Referrals from the command line: send one (to a facility, a trial arm, or from a trial match), follow the
/// facility's referrals, and act on those addressed to it (referral coordinators).
/// </summary>
internal static class ReferralCommands
{
    public static Command Create(Func<ParseResult, LocalApiConnection> connect)
    {
        var referral = new Command("referral", "Referrals sent from this facility or addressed to it.");
        referral.Subcommands.Add(Send(connect));
        referral.Subcommands.Add(FromMatch(connect));
        referral.Subcommands.Add(List(connect));
        referral.Subcommands.Add(Show(connect));
        foreach (var (name, action, description) in new[]
        {
            ("receive", ReferralAction.Receive, "Acknowledge a referral addressed to this facility (REQUESTED to RECEIVED)."),
            ("accept", ReferralAction.Accept, "Accept a received referral."),
            ("reject", ReferralAction.Reject, "Reject a received referral (--reason required)."),
            ("start", ReferralAction.Start, "Start an accepted referral: the patient is being seen or screened."),
            ("complete", ReferralAction.Complete, "Complete a referral in progress (--outcome required)."),
            ("fail", ReferralAction.Fail, "Mark a referral in progress as failed (--reason required)."),
        })
        {
            referral.Subcommands.Add(Act(connect, name, action, description));
        }
        referral.Subcommands.Add(Cancel(connect));
        return referral;
    }

    private static Command Send(Func<ParseResult, LocalApiConnection> connect)
    {
        var facility = new Option<string?>("--to-facility") { Description = "The receiving facility's code, e.g. CORE-011" };
        var trial = new Option<string?>("--trial") { Description = "A trial of the catalogue (with --arm), e.g. jRCT2031990101" };
        var arm = new Option<string?>("--arm") { Description = "The trial's arm" };
        var site = new Option<string?>("--site") { Description = "One of the trial's sites (default: its first)" };
        var patient = new Option<string?>("--patient") { Description = "The facility's own patient id (never leaves this spoke)" };
        var record = new Option<string?>("--record") { Description = "A registry record of the patient" };
        var consultation = new Option<string?>("--consultation") { Description = "A consultation of the patient from this spoke" };
        var reason = new Option<string>("--reason") { Description = "Why the patient is referred", Required = true };
        var urgent = new Option<bool>("--urgent");
        var note = new Option<string?>("--note");
        var summary = new Option<string?>("--summary") { Description = "A clinical summary for the receiving facility" };
        var includeRecord = new Option<bool>("--include-record") { Description = "Send the registry record's current version with the referral" };
        var command = new Command("send", "Refer a patient to a facility or a trial arm of the directory.")
        {
            facility, trial, arm, site, patient, record, consultation, reason, urgent, note, summary, includeRecord,
        };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            var request = new CreateReferralRequest
            {
                ReferralId = Guid.CreateVersion7().ToString(),
                Target = result.GetValue(trial) is { } trialId
                    ? new ReferralTarget { TrialArm = new TrialArmTarget { TrialId = trialId, ArmId = result.GetValue(arm) ?? "", SiteFacilityCode = result.GetValue(site) ?? "" } }
                    : result.GetValue(facility) is { } code ? new ReferralTarget { FacilityCode = code } : null,
                LocalPatientId = result.GetValue(patient) ?? "",
                RegistryRecordId = result.GetValue(record) ?? "",
                ConsultationId = result.GetValue(consultation) ?? "",
                Reason = result.GetValue(reason)!,
                Urgency = result.GetValue(urgent) ? Urgency.Urgent : Urgency.Routine,
                Note = result.GetValue(note) ?? "",
                ClinicalSummary = result.GetValue(summary) ?? "",
                IncludeRegistryRecord = result.GetValue(includeRecord),
            };
            await using var connection = connect(result);
            var response = await connection.Referrals.CreateReferralAsync(request, cancellationToken: cancellationToken);
            Print(response.Referral, "Referral stored; it reaches the hub through the outbox");
        }));
        return command;
    }

    private static Command FromMatch(Func<ParseResult, LocalApiConnection> connect)
    {
        var record = new Argument<string>("record-id");
        var trial = new Option<string>("--trial") { Required = true };
        var arm = new Option<string>("--arm") { Required = true };
        var site = new Option<string?>("--site") { Description = "One of the trial's sites (default: its first)" };
        var reason = new Option<string?>("--reason") { Description = "Default: the match's reasons" };
        var urgent = new Option<bool>("--urgent");
        var note = new Option<string?>("--note");
        var includeRecord = new Option<bool>("--include-record") { Description = "Send the registry record's current version with the referral" };
        var command = new Command("from-match", "Refer a registry record's patient to a trial arm it is eligible for, in one step ('spoke registry match' lists them).")
        {
            record, trial, arm, site, reason, urgent, note, includeRecord,
        };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Referrals.ReferFromTrialMatchAsync(new()
            {
                ReferralId = Guid.CreateVersion7().ToString(),
                RegistryRecordId = result.GetValue(record),
                TrialArm = new TrialArmTarget { TrialId = result.GetValue(trial), ArmId = result.GetValue(arm), SiteFacilityCode = result.GetValue(site) ?? "" },
                Reason = result.GetValue(reason) ?? "",
                Urgency = result.GetValue(urgent) ? Urgency.Urgent : Urgency.Routine,
                Note = result.GetValue(note) ?? "",
                IncludeRegistryRecord = result.GetValue(includeRecord),
            }, cancellationToken: cancellationToken);
            Print(response.Referral, "Referral to the trial stored; it reaches the hub through the outbox");
        }));
        return command;
    }

    private static Command List(Func<ParseResult, LocalApiConnection> connect)
    {
        var incoming = new Option<bool>("--incoming") { Description = "Only referrals addressed to this facility" };
        var outgoing = new Option<bool>("--outgoing") { Description = "Only referrals sent from this facility" };
        var state = new Option<string?>("--state") { Description = "Only this state: " + string.Join(", ", ProtoEnumNames.All<ReferralState>()) };
        var command = new Command("list", "List referrals, most recently changed first.") { incoming, outgoing, state };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            var request = new ListReferralsRequest
            {
                Direction = result.GetValue(incoming) ? ReferralDirection.Incoming : result.GetValue(outgoing) ? ReferralDirection.Outgoing : ReferralDirection.Unspecified,
                State = result.GetValue(state) is { } name
                    ? ProtoEnumNames.Parse<ReferralState>(name) ?? throw new InvalidDataException($"--state '{name}' is not one of: {string.Join(", ", ProtoEnumNames.All<ReferralState>())}")
                    : ReferralState.Unspecified,
                PageSize = 200,
            };
            await using var connection = connect(result);
            var table = new Table().AddColumn(new TableColumn("referral").NoWrap()).AddColumns("direction", "state", "from", "to", "urgency", "reason", "changed");
            do
            {
                var page = await connection.Referrals.ListReferralsAsync(request, cancellationToken: cancellationToken);
                foreach (var item in page.Referrals)
                {
                    var r = item.Referral;
                    var last = r.History.Concat(item.PendingTransitions).LastOrDefault();
                    table.AddRow(r.ReferralId, item.SentHere && item.AddressedHere ? "both" : item.SentHere ? "outgoing" : "incoming", State(item),
                        Markup.Escape(r.SendingFacilityCode), Markup.Escape(Destination(r)), ProtoEnumNames.Name(r.Urgency), Markup.Escape(Shorten(r.Reason)),
                        JapanTime.Format((last?.OccurredAt ?? r.CreatedAt).ToDateTimeOffset()));
                }
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            AnsiConsole.Write(table);
        }));
        return command;
    }

    private static Command Show(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("referral-id");
        var json = new Option<bool>("--json");
        var command = new Command("show", "Show a referral with its whole history.") { id, json };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Referrals.GetReferralAsync(new() { ReferralId = result.GetValue(id) }, cancellationToken: cancellationToken);
            if (result.GetValue(json))
            {
                ConsoleOutput.WriteJson(response.Referral);
                return;
            }
            Print(response.Referral, null);
        }));
        return command;
    }

    private static Command Act(Func<ParseResult, LocalApiConnection> connect, string name, ReferralAction action, string description)
    {
        var id = new Argument<string>("referral-id");
        var reason = new Option<string?>("--reason");
        var outcome = new Option<string?>("--outcome") { Description = "For complete: " + string.Join(", ", ProtoEnumNames.All<ReferralOutcome>()) };
        var note = new Option<string?>("--note");
        var command = new Command(name, description) { id, note };
        if (action is ReferralAction.Reject or ReferralAction.Fail)
        {
            command.Options.Add(reason);
        }
        if (action == ReferralAction.Complete)
        {
            command.Options.Add(outcome);
        }
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Referrals.ActOnIncomingReferralAsync(new()
            {
                ReferralId = result.GetValue(id),
                Action = action,
                Reason = result.GetValue(reason) ?? "",
                Outcome = result.GetValue(outcome) is { } o
                    ? ProtoEnumNames.Parse<ReferralOutcome>(o) ?? throw new InvalidDataException($"--outcome '{o}' is not one of: {string.Join(", ", ProtoEnumNames.All<ReferralOutcome>())}")
                    : ReferralOutcome.Unspecified,
                Note = result.GetValue(note) ?? "",
            }, cancellationToken: cancellationToken);
            Print(response.Referral, $"Referral {ReferralWorkflow.Name(response.Referral.EffectiveState)}; the change reaches the hub through the outbox");
        }));
        return command;
    }

    private static Command Cancel(Func<ParseResult, LocalApiConnection> connect)
    {
        var id = new Argument<string>("referral-id");
        var reason = new Option<string>("--reason") { Required = true };
        var command = new Command("cancel", "Withdraw a referral this facility sent, from any open state.") { id, reason };
        command.SetAction((result, cancellationToken) => SpokeCommandLine.ClientAsync(async () =>
        {
            await using var connection = connect(result);
            var response = await connection.Referrals.CancelReferralAsync(new() { ReferralId = result.GetValue(id), Reason = result.GetValue(reason)! },
                cancellationToken: cancellationToken);
            Print(response.Referral, "Referral cancelled; the change reaches the hub through the outbox");
        }));
        return command;
    }

    private static void Print(LocalReferral item, string? headline)
    {
        var r = item.Referral;
        if (headline is not null)
        {
            AnsiConsole.MarkupLine($"[green]{Markup.Escape(headline)}[/]: [bold]{r.ReferralId}[/]");
        }
        AnsiConsole.MarkupLine($"{State(item)}: {Markup.Escape(r.SendingFacilityCode)} → {Markup.Escape(Destination(r))}" +
            (r.ReceivingNodeId.Length > 0 ? $" (spoke {Markup.Escape(r.ReceivingNodeId)})" : " (route set by the hub when it receives it)") +
            $", {ProtoEnumNames.Name(r.Urgency)}");
        if (item.LocalPatientId.Length > 0)
        {
            AnsiConsole.MarkupLine($"patient {Markup.Escape(item.LocalPatientId)} (only this facility sees its own id)");
        }
        AnsiConsole.MarkupLine($"reason: {Markup.Escape(r.Reason)}");
        if (r.Note.Length > 0)
        {
            AnsiConsole.MarkupLine($"note: {Markup.Escape(r.Note)}");
        }
        if (r.TrialMatch is { } match)
        {
            AnsiConsole.MarkupLine($"from a trial match ({match.Criteria.Count} criteria, {(match.BiomarkerMatched ? "biomarker-matched" : "biomarker-agnostic")})");
        }
        AnsiConsole.MarkupLine($"  {JapanTime.Format(r.CreatedAt.ToDateTimeOffset())}  REQUESTED by {Markup.Escape(r.CreatedBy)} ({Markup.Escape(r.SendingFacilityCode)})");
        foreach (var t in r.History)
        {
            AnsiConsole.MarkupLine($"  {JapanTime.Format(t.OccurredAt.ToDateTimeOffset())}  {ReferralWorkflow.Name(t.ToState)} by {Markup.Escape(t.MadeBy)} ({Markup.Escape(t.MadeByFacilityCode)})" + Details(t));
        }
        foreach (var t in item.PendingTransitions)
        {
            AnsiConsole.MarkupLine($"  {JapanTime.Format(t.OccurredAt.ToDateTimeOffset())}  [yellow]{ReferralWorkflow.Name(t.ToState)}, waiting for the hub[/] by {Markup.Escape(t.MadeBy)}" + Details(t));
        }
        if (item.DeliveryState == DeliveryState.Parked)
        {
            AnsiConsole.MarkupLine($"[red]Parked after repeated failures[/] (send it again with 'spoke outbox resend'): {Markup.Escape(item.DeliveryError)}");
        }
        else if (item.DeliveryError.Length > 0)
        {
            AnsiConsole.MarkupLine($"[red]The hub refused a change[/]: {Markup.Escape(item.DeliveryError)}");
        }
    }

    private static string Details(ReferralTransition t) =>
        (t.Outcome != ReferralOutcome.Unspecified ? $", outcome {ProtoEnumNames.Name(t.Outcome)}" : "") +
        (t.Reason.Length > 0 ? $": {Markup.Escape(t.Reason)}" : "") +
        (t.Note.Length > 0 ? $" ({Markup.Escape(t.Note)})" : "");

    private static string State(LocalReferral item) =>
        ReferralWorkflow.Name(item.EffectiveState) + item.DeliveryState switch
        {
            DeliveryState.Pending => " (pending)",
            DeliveryState.Parked => " [red](parked)[/]",
            DeliveryState.Rejected => " [red](refused)[/]",
            _ => "",
        };

    private static string Destination(Referral r) => r.Target.TargetCase == ReferralTarget.TargetOneofCase.TrialArm
        ? $"{r.Target.TrialArm.TrialId}/{r.Target.TrialArm.ArmId} at {r.ReceivingFacilityCode}"
        : r.ReceivingFacilityCode;

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..59] + "…";
}
