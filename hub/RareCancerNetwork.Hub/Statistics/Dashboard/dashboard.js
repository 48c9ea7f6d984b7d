// The national statistics dashboard. Signs in through the hub (authorization code with PKCE), then reads every figure
// through the hub's StatisticsService as JSON (the gRPC service's HTTP bindings): never the database, never a patient row.
'use strict';

(() => {
  const clientId = 'rcn-dashboard';
  const redirectUri = `${location.origin}/dashboard/`;
  const session = sessionStorage;
  const japan = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'short' });
  const numbers = new Intl.NumberFormat('ja-JP');
  const charts = {};
  const $ = (id) => document.getElementById(id);

  function base64Url(bytes) {
    return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function randomText() {
    return base64Url(crypto.getRandomValues(new Uint8Array(32)));
  }

  async function signIn() {
    const verifier = randomText();
    const state = randomText();
    session.setItem('rcn.pkce', JSON.stringify({ verifier, state }));
    const challenge = base64Url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    const query = new URLSearchParams({
      client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'rcn.stats',
      code_challenge: challenge, code_challenge_method: 'S256', state,
    });
    location.assign(`/connect/authorize?${query}`);
  }

  /** Back from the sign-in page with a code: redeem it once, with the verifier only this tab holds. */
  async function redeem(code, state) {
    const pending = JSON.parse(session.getItem('rcn.pkce') || 'null');
    session.removeItem('rcn.pkce');
    history.replaceState(null, '', redirectUri);
    if (!pending || pending.state !== state) {
      throw new Error('サインインの応答が一致しません。もう一度サインインしてください。');
    }
    const response = await fetch('/connect/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: pending.verifier }),
    });
    const token = await response.json();
    if (!response.ok) {
      throw new Error(`サインインできませんでした: ${token.error_description || token.error}`);
    }
    session.setItem('rcn.token', JSON.stringify({ value: token.access_token, expires: Date.now() + token.expires_in * 1000 }));
  }

  function accessToken() {
    const token = JSON.parse(session.getItem('rcn.token') || 'null');
    return token && token.expires > Date.now() + 5000 ? token.value : null;
  }

  function signOut() {
    session.removeItem('rcn.token');
    show(false);
  }

  async function call(path, body) {
    const token = accessToken();
    if (!token) {
      show(false);
      throw new Error('サインインの有効期限が切れました。もう一度サインインしてください。');
    }
    const response = await fetch(path, {
      method: body ? 'POST' : 'GET',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (response.status === 401) {
      signOut();
      throw new Error('サインインの有効期限が切れました。もう一度サインインしてください。');
    }
    const json = await response.json();
    if (!response.ok) {
      throw new Error(json.message || `エラー ${response.status}`);
    }
    return json;
  }

  function filter() {
    return { fromMonth: $('from-month').value, toMonth: $('to-month').value };
  }

  async function figure(name, extra) {
    return (await call('/api/v1/statistics/figure', { query: { figure: name, filter: filter(), exact: $('exact').checked, ...extra } })).result;
  }

  /** A cell as text: counts and rates rounded only here, for showing; a hidden cell says so (an exact one is marked ※). */
  function text(cell) {
    if (!cell || (cell.count === undefined && !cell.rate && !cell.measure)) {
      return cell && cell.suppressed ? '秘匿' : '—';
    }
    return cell.suppressed ? `${value(cell)}※` : value(cell);
  }

  function value(cell) {
    if (cell.count !== undefined) {
      return numbers.format(Number(cell.count));
    }
    if (cell.rate) {
      const r = cell.rate;
      return `${(r.estimate * 100).toFixed(1)}% (${numbers.format(Number(r.numerator))}/${numbers.format(Number(r.denominator))}, 95%CI ${(r.lower * 100).toFixed(1)}–${(r.upper * 100).toFixed(1)}%)`;
    }
    const m = cell.measure;
    const unit = { days: '日', months: 'か月' }[m.unit] || m.unit;
    return m.notReached ? '未到達' : `${m.value.toFixed(1)}${unit}`;
  }

  function cellAt(table, rowCode, columnCode) {
    const row = table.rows.findIndex((r) => r.code === rowCode);
    const column = table.columns.findIndex((c) => c.code === columnCode);
    return row < 0 || column < 0 ? null : table.cells[row * table.columns.length + column];
  }

  function provenance(result) {
    const p = result.provenance;
    return `集計対象 ${numbers.format(Number(p.recordsCounted))}件・${japan.format(new Date(p.asOf))} 時点（日本時間）・${p.filtersJa}・${p.consentRuleJa}`
      + (p.exact ? '・正確な値（※は公表時に秘匿される区分。この照会は監査記録されています）' : '');
  }

  function setFigure(testId, value) {
    const element = document.querySelector(`[data-testid="${testId}"]`);
    element.textContent = value;
  }

  async function headlines() {
    const [enrolment, panels, consultations, turnaround, referrals, consent] = await Promise.all([
      figure('FIGURE_REGISTRY_ENROLMENT'), figure('FIGURE_PANEL_TESTS'), figure('FIGURE_CONSULTATION_COUNTS'),
      figure('FIGURE_CONSULTATION_TURNAROUND'), figure('FIGURE_REFERRAL_COUNTS'), figure('FIGURE_GENOMIC_CONSENT'),
    ]);
    setFigure('headline-enrolment', text(cellAt(enrolment.tables[0], 'total', 'total')));
    setFigure('headline-panel-tests', text(cellAt(panels.tables[0], 'total', 'total')));
    setFigure('headline-consultations', text(cellAt(consultations.tables[0], 'total', 'total')));
    setFigure('headline-turnaround', text(cellAt(turnaround.tables[0], 'total', 'median_days')));
    setFigure('headline-referrals', text(cellAt(referrals.tables[0], 'total', 'total')));
    setFigure('headline-genomic-consent', text(cellAt(consent.tables[0], 'total', 'consent_rate')).split(' ')[0]);
    $('headline-provenance').textContent = provenance(enrolment);
    trend([['希少がん登録', enrolment], ['遺伝子パネル検査', panels], ['コンサルテーション', consultations]]);
  }

  /** Monthly totals of each pivot (rows are months): a hidden month is a gap, not a zero. */
  function trend(series) {
    const months = [...new Set(series.flatMap(([, result]) => result.tables[0].rows.map((r) => r.code).filter((c) => c !== 'total')))].sort();
    const colours = ['#12365a', '#2a8a5a', '#c0622f'];
    draw('trend-chart', {
      type: 'line',
      data: {
        labels: months,
        datasets: series.map(([label, result], i) => ({
          label,
          borderColor: colours[i],
          backgroundColor: colours[i],
          spanGaps: false,
          data: months.map((month) => {
            const cell = cellAt(result.tables[0], month, 'total');
            return cell && cell.count !== undefined ? Number(cell.count) : null;
          }),
        })),
      },
      options: { maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, title: { display: true, text: '件数' } } } },
    });
  }

  function draw(canvasId, config) {
    if (charts[canvasId]) {
      charts[canvasId].destroy();
    }
    charts[canvasId] = new Chart($(canvasId), config);
  }

  async function regionTable() {
    const place = document.querySelector('input[name="place"]:checked').value;
    const result = await figure('FIGURE_REGISTRY_ENROLMENT', { rows: place, columns: 'DIMENSION_DESIGNATION' });
    fillTable($('region-table'), result.tables[0], place === 'DIMENSION_REGION' ? '地域' : '都道府県');
    $('region-provenance').textContent = provenance(result);
  }

  /** A released table as an HTML table: its rows' and columns' Japanese labels, hidden cells marked. */
  function fillTable(element, table, corner) {
    element.replaceChildren();
    const head = element.createTHead().insertRow();
    for (const label of [corner, ...table.columns.map((c) => c.labelJa)]) {
      const th = document.createElement('th');
      th.textContent = label;
      head.appendChild(th);
    }
    const body = element.createTBody();
    table.rows.forEach((row, r) => {
      const tr = body.insertRow();
      tr.className = row.code === 'total' ? 'total' : '';
      tr.insertCell().textContent = row.labelJa;
      table.columns.forEach((_, c) => {
        const cell = table.cells[r * table.columns.length + c];
        const td = tr.insertCell();
        td.textContent = text(cell);
        td.className = cell.suppressed ? 'suppressed' : '';
      });
    });
  }

  async function hotline() {
    const [outcomesByCentre, topics] = await Promise.all([figure('FIGURE_HOTLINE_OUTCOMES'), figure('FIGURE_HOTLINE_TOPICS')]);
    const byCentre = outcomesByCentre.tables[0];
    setFigure('headline-hotline-calls', text(cellAt(byCentre, 'total', 'calls')));
    setFigure('headline-hotline-suggested', text(cellAt(byCentre, 'total', 'suggested_or_referred')).split(' ')[0]);
    fillTable($('hotline-outcomes-table'), byCentre, '相談センター');
    fillTable($('hotline-topics-table'), topics.tables[0], '相談内容');
    $('hotline-provenance').textContent = provenance(outcomesByCentre);
  }

  async function outcomes(event) {
    if (event) {
      event.preventDefault();
    }
    const regimen = $('cohort-regimen').value.trim();
    const trialId = $('cohort-trial').value.trim();
    if (!regimen && !trialId) {
      $('km-summary').textContent = 'レジメンまたは試験IDを入力してください。';
      return;
    }
    const result = await figure('FIGURE_TREATMENT_OUTCOMES', { cohort: { regimen, trialId } });
    const rates = result.tables.find((t) => t.key === 'response_rates');
    const [pfs, os] = ['pfs', 'os'].map((key) => result.curves.find((c) => c.key === key));
    const median = (curve) => (curve.median ? text({ measure: curve.median, suppressed: curve.suppressed }) : '秘匿（10人未満）');
    $('km-summary').textContent = `奏効率 ${text(cellAt(rates, 'orr', 'rate'))}／病勢制御率 ${text(cellAt(rates, 'dcr', 'rate'))}／`
      + `無増悪生存期間 中央値 ${median(pfs)}（${numbers.format(Number(pfs.patients || 0))}人）／全生存期間 中央値 ${median(os)}`;
    // From 1 at the start, through each step, flat to the end of follow-up.
    const steps = (curve) => {
      const points = [{ x: 0, y: 1 }, ...curve.points.map((p) => ({ x: p.time, y: p.survival }))];
      if (curve.followedUntil !== undefined && curve.followedUntil > points[points.length - 1].x) {
        points.push({ x: curve.followedUntil, y: points[points.length - 1].y });
      }
      return points;
    };
    draw('km-chart', {
      type: 'line',
      data: {
        // Chart.js's 'before' steps go across, then down: survival holds until the next event, as a Kaplan–Meier curve does.
        datasets: [pfs, os].filter((c) => c.median).map((curve, i) => ({
          label: curve.titleJa, data: steps(curve), stepped: 'before', borderColor: ['#c0622f', '#12365a'][i], pointRadius: 0,
        })),
      },
      options: {
        maintainAspectRatio: false, animation: false, parsing: false,
        scales: { x: { type: 'linear', title: { display: true, text: '月' } }, y: { min: 0, max: 1, title: { display: true, text: '生存割合' } } },
      },
    });
  }

  async function spokes() {
    const response = await call('/api/v1/statistics/spokes');
    const body = $('spokes-table').tBodies[0];
    body.replaceChildren();
    const now = Date.now();
    for (const spoke of response.spokes) {
      const tr = body.insertRow();
      const lastContact = spoke.lastContact ? new Date(spoke.lastContact) : null;
      const values = [
        spoke.facilityNameJa, spoke.nodeId, spoke.regionJa,
        lastContact ? japan.format(lastContact) : '連絡なし',
        numbers.format(Number(spoke.outboxPending || 0)),
        spoke.oldestPendingAt ? japan.format(new Date(spoke.oldestPendingAt)) : '—',
        numbers.format(Number(spoke.refused || 0)), numbers.format(Number(spoke.parked || 0)), numbers.format(Number(spoke.feedBacklog || 0)),
      ];
      values.forEach((value) => { tr.insertCell().textContent = value; });
      // Five minutes without a report (they come every half minute) is worth a look.
      if (!lastContact || now - lastContact.getTime() > 5 * 60 * 1000) {
        tr.cells[3].className = 'stale';
      }
    }
  }

  async function refresh(event) {
    if (event) {
      event.preventDefault();
    }
    $('error').hidden = true;
    try {
      await Promise.all([headlines(), regionTable(), hotline(), spokes()]);
      if ($('cohort-regimen').value || $('cohort-trial').value) {
        await outcomes();
      }
    } catch (error) {
      fail(error);
    }
  }

  function fail(error) {
    $('error').textContent = error.message;
    $('error').hidden = false;
  }

  function show(signedIn) {
    $('signed-in').hidden = !signedIn;
    $('account').hidden = !signedIn;
    $('signed-out').hidden = signedIn;
  }

  async function start() {
    $('sign-in').addEventListener('click', () => signIn().catch(fail));
    $('sign-out').addEventListener('click', signOut);
    $('filters').addEventListener('submit', refresh);
    $('cohort-form').addEventListener('submit', (event) => outcomes(event).catch(fail));
    document.querySelectorAll('input[name="place"]').forEach((input) => input.addEventListener('change', () => regionTable().catch(fail)));
    const query = new URLSearchParams(location.search);
    try {
      if (query.has('code')) {
        await redeem(query.get('code'), query.get('state'));
      } else if (query.has('error')) {
        history.replaceState(null, '', redirectUri);
        throw new Error(`サインインできませんでした: ${query.get('error_description') || query.get('error')}`);
      }
    } catch (error) {
      fail(error);
    }
    if (accessToken()) {
      show(true);
      await refresh();
    } else {
      show(false);
    }
  }

  document.addEventListener('DOMContentLoaded', () => { start().catch(fail); });
})();
