using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Tests;

public sealed class ExpertAssignmentTests
{
    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Deliver_AssignsLeastLoadedExpertOfTheSpecialty(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await hub.AddExpertAsync("bone", 10, OrganSystem.Bone);
        await hub.AddExpertAsync("soft-a", 10, OrganSystem.SoftTissue);
        await hub.AddExpertAsync("soft-b", 10, OrganSystem.SoftTissue, OrganSystem.Bone);

        var first = await hub.DeliverAsync();
        var second = await hub.DeliverAsync();
        var third = await hub.DeliverAsync();

        // Ties break by expert id; then the least loaded takes the next case.
        Assert.Equal("soft-a", await hub.AssigneeAsync(first));
        Assert.Equal("soft-b", await hub.AssigneeAsync(second));
        Assert.Equal("soft-a", await hub.AssigneeAsync(third));
    }

    /// <summary>
    /// A batch that waits for an expert shares one received instant, so the queue orders it by consultation id (UUIDv7:
    /// creation order to the millisecond). Whatever order the batch came in, each is told its place once and none is
    /// re-placed by the ones after it.
    /// </summary>
    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task BatchedDelivery_WaitingCases_JoinTheQueueInCreationOrder_EachToldItsPlaceOnce(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var created = Enumerable.Range(0, 12).Select(_ => HubStore.NewDelivery(OrganSystem.Eye)).ToList();
        var shuffled = created.AsEnumerable().Reverse().Where((_, i) => i % 2 == 0).Concat(created.AsEnumerable().Reverse().Where((_, i) => i % 2 == 1)).ToList();

        var outcomes = await hub.Store.DeliverManyAsync(HubStore.NodeId, shuffled, null, CancellationToken.None);

        Assert.All(outcomes, o => Assert.Equal(ConsultationStatus.Received, o.Value!.Status));
        var places = (await hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 1000, CancellationToken.None))
            .Where(e => e.QueuePositionChanged is not null).Select(e => (e.ConsultationId, e.QueuePositionChanged.Position)).ToList();
        Assert.Equal(created.Select(c => c.ConsultationId).Order(StringComparer.Ordinal).Select((id, i) => (id, i + 1)), places);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Deliver_NoExpertOfTheSpecialty_WaitsInReceived_ThenAssignedWhenOneIsRegistered(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await hub.AddExpertAsync("soft", 10, OrganSystem.SoftTissue);
        var eye = await hub.DeliverAsync(OrganSystem.Eye);
        Assert.Null(await hub.AssigneeAsync(eye));

        await hub.AddExpertAsync("eye", 10, OrganSystem.Eye);
        Assert.Equal(1, await hub.Store.AssignWaitingAsync(CancellationToken.None));
        Assert.Equal("eye", await hub.AssigneeAsync(eye));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Capacity_IsRespected_AndAReportFreesIt_UrgentFirst(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await hub.AddExpertAsync("solo", 1, OrganSystem.SoftTissue);
        var first = await hub.DeliverAsync();
        var routine = await hub.DeliverAsync();
        var urgent = await hub.DeliverAsync(urgency: Urgency.Urgent);
        Assert.Equal("solo", await hub.AssigneeAsync(first));
        Assert.Null(await hub.AssigneeAsync(routine));
        Assert.Null(await hub.AssigneeAsync(urgent));

        await hub.Store.SubmitReportAsync("solo", "Solo", new SubmitReportRequest
        {
            ConsultationId = first,
            Diagnosis = new Diagnosis { Text = "診断", MorphologyCode = "8850/3" },
            Concordance = Concordance.Concordant,
        }, CancellationToken.None);

        // The freed slot goes to the urgent case although the routine one waited longer.
        Assert.Equal("solo", await hub.AssigneeAsync(urgent));
        Assert.Null(await hub.AssigneeAsync(routine));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task FeedEvents_AreOrderedPerNode_AndCarryAssignment(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await hub.AddExpertAsync("soft", 10, OrganSystem.SoftTissue);
        var id = await hub.DeliverAsync();
        var all = await hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 100, CancellationToken.None);
        var events = all.Where(e => e.StatusChanged is not null).ToList();
        Assert.Equal([ConsultationStatus.Received, ConsultationStatus.Assigned], events.Select(e => e.StatusChanged.Status));
        Assert.All(all, e => Assert.Equal(id, e.ConsultationId));
        Assert.True(events[0].Sequence < events[1].Sequence);
        // The timeline's steps travel beside the status changes: received, then assigned to the expert.
        Assert.Equal([(ConsultationStepKind.Received, ""), (ConsultationStepKind.Assigned, "soft")],
            all.Where(e => e.StepRecorded is not null).Select(e => (e.StepRecorded.Kind, e.StepRecorded.ExpertId)));
        Assert.Empty(await hub.Feed.ReadAfterAsync(HubStore.NodeId, all[^1].Sequence, 100, CancellationToken.None));
        Assert.Empty(await hub.Feed.ReadAfterAsync("another-node", 0, 100, CancellationToken.None));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Deliver_BacklogInAnotherOrganSystem_DoesNotHoldUpAssignment(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await hub.AddExpertAsync("soft", 10, OrganSystem.SoftTissue);
        for (var i = 0; i < 50; i++)
        {
            await hub.DeliverAsync(OrganSystem.Eye);
        }

        var soft = await hub.DeliverAsync();

        Assert.Equal("soft", await hub.AssigneeAsync(soft));
        Assert.Equal(50, await hub.ScalarAsync("SELECT COUNT(*) FROM consultations WHERE status = 2"));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task ExpertLoad_IsKeptCurrent_ThroughAssignmentsAndReports(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await hub.AddExpertAsync("solo", 2, OrganSystem.SoftTissue);
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await hub.DeliverAsync());
        }
        await hub.Store.SubmitReportAsync("solo", "Solo", new SubmitReportRequest
        {
            ConsultationId = ids[0],
            Diagnosis = new Diagnosis { Text = "診断", MorphologyCode = "8850/3" },
            Concordance = Concordance.Concordant,
        }, CancellationToken.None);

        var recounted = await hub.ScalarAsync("SELECT COUNT(*) FROM consultations WHERE assigned_expert_id = 'solo' AND status IN (3, 4)");
        Assert.Equal(2, recounted);
        Assert.Equal(recounted, await hub.ScalarAsync("SELECT open_cases FROM experts WHERE expert_id = 'solo'"));
        Assert.Equal("solo", await hub.AssigneeAsync(ids[2]));
        Assert.Null(await hub.AssigneeAsync(ids[3]));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task QueuePlaces_ACaseAtTheBackMovesNobody_AnUrgentOnePassesTheRoutineOnes(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var routine = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            routine.Add(await hub.DeliverAsync(OrganSystem.Eye));
        }
        async Task<long[]> PlacesAsync(IEnumerable<string> ids)
        {
            var places = new List<long>();
            foreach (var id in ids)
            {
                places.Add(await hub.ScalarAsync($"SELECT announced_queue_position FROM consultations WHERE consultation_id = '{id}'"));
            }
            return [.. places];
        }
        async Task<int> PlaceEventsAsync() =>
            (await hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 10_000, CancellationToken.None)).Count(e => e.QueuePositionChanged is not null);
        Assert.Equal(new long[] { 1, 2, 3 }, await PlacesAsync(routine));
        // Each joined at the back: one event each, nobody else told.
        Assert.Equal(3, await PlaceEventsAsync());

        var urgent = await hub.DeliverAsync(OrganSystem.Eye, Urgency.Urgent);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, await PlacesAsync(routine.Prepend(urgent)));
        // The urgent case, and the three it passed.
        Assert.Equal(7, await PlaceEventsAsync());
        var secondUrgent = await hub.DeliverAsync(OrganSystem.Eye, Urgency.Urgent);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, await PlacesAsync(routine.Prepend(secondUrgent).Prepend(urgent)));
        Assert.Equal(11, await PlaceEventsAsync());
    }
}
