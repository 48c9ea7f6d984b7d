// The public facility finder: reads only the public directory endpoint (GET /api/v1/public/facilities), with no sign-in.
// Japanese first; English on request (?lang=en). Every control is a native form element, so it works by keyboard alone.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const text = {
    ja: {
      title: '希少がんの専門施設をさがす', subtitle: 'がんの種類とお住まいの地域から、希少がんを診療する指定病院を探せます。サインインは不要です。',
      help: 'がんの種類（臓器）と都道府県を選ぶと、その都道府県の病院から近い順に表示します。', organLabel: 'がんの種類（臓器）',
      prefectureLabel: '都道府県（お住まい）', regionLabel: '地域で絞り込む', anyOrgan: 'すべて', anyPrefecture: '指定しない', anyRegion: '全国',
      search: 'さがす', results: '検索結果', skip: '検索結果へ移動',
      note: '掲載しているのは国が指定する病院です。受診の前に、各病院の窓口で受診方法をご確認ください。病状についてのご相談は、希少がんホットラインへどうぞ。',
      found: (n) => `${n}件の病院が見つかりました。`, none: '条件に合う病院は見つかりませんでした。条件を変えてお試しください。',
      contact: '受診・相談の窓口', noContact: '窓口のページは未登録です', designations: '指定', treats: '診療する希少がん',
      near: ['お住まいの都道府県', '同じ地域', '隣の地域', '2つ先の地域', '3つ以上先の地域'],
      busy: 'ただいま混み合っています。少し待ってからもう一度お試しください。', failed: '検索できませんでした。時間をおいてもう一度お試しください。',
      language: 'English', languageLabel: 'Show this page in English', languageCode: 'en', pageTitle: '希少がんの専門施設をさがす — 希少がん診療ネットワーク',
    },
    en: {
      title: 'Find a rare-cancer hospital', subtitle: 'Search the designated hospitals that treat rare cancers, by cancer type and where you live. No sign-in needed.',
      help: 'Choose the cancer type (organ) and your prefecture: hospitals in your prefecture come first, then the nearest regions.',
      organLabel: 'Cancer type (organ)', prefectureLabel: 'Prefecture (where you live)', regionLabel: 'Only this region', anyOrgan: 'All',
      anyPrefecture: 'Not given', anyRegion: 'All of Japan', search: 'Search', results: 'Results', skip: 'Skip to the results',
      note: 'These are the hospitals designated by the national government. Before visiting, ask the hospital how to be seen. For questions about an illness, call the rare-cancer hotline.',
      found: (n) => `${n} hospital${n === 1 ? '' : 's'} found.`, none: 'No hospital matches; try other choices.',
      contact: 'Appointments and consultation', noContact: 'No contact page registered yet', designations: 'Designations', treats: 'Rare cancers treated',
      near: ['In your prefecture', 'In your region', 'Neighbouring region', 'Two regions away', 'Three or more regions away'],
      busy: 'Too many searches right now; please wait a moment and try again.', failed: 'The search failed; please try again later.',
      language: '日本語', languageLabel: 'このページを日本語で表示', languageCode: 'ja', pageTitle: 'Find a rare-cancer hospital — Rare Cancer Network',
    },
  };
  const organs = [
    ['ORGAN_SYSTEM_SOFT_TISSUE', '軟部（肉腫など）', 'Soft tissue (sarcomas)'], ['ORGAN_SYSTEM_BONE', '骨', 'Bone'],
    ['ORGAN_SYSTEM_GYNECOLOGIC', '婦人科', 'Gynecologic'], ['ORGAN_SYSTEM_HEAD_AND_NECK', '頭頸部', 'Head and neck'],
    ['ORGAN_SYSTEM_THORACIC', '胸部', 'Thoracic'], ['ORGAN_SYSTEM_DIGESTIVE', '消化器', 'Digestive'],
    ['ORGAN_SYSTEM_GENITOURINARY', '泌尿生殖器', 'Genitourinary'], ['ORGAN_SYSTEM_CENTRAL_NERVOUS_SYSTEM', '脳・脊髄（中枢神経系）', 'Brain and spinal cord'],
    ['ORGAN_SYSTEM_SKIN', '皮膚', 'Skin'], ['ORGAN_SYSTEM_HEMATOLYMPHOID', '血液・リンパ', 'Blood and lymph'],
    ['ORGAN_SYSTEM_ENDOCRINE', '内分泌', 'Endocrine'], ['ORGAN_SYSTEM_EYE', '眼', 'Eye'], ['ORGAN_SYSTEM_BREAST', '乳腺', 'Breast'],
    ['ORGAN_SYSTEM_PEDIATRIC', '小児', 'Children'],
  ];
  const designations = {
    FACILITY_DESIGNATION_GENOMIC_CORE: ['がんゲノム医療中核拠点病院', 'Cancer genomic medicine core hospital'],
    FACILITY_DESIGNATION_GENOMIC_HUB: ['がんゲノム医療拠点病院', 'Cancer genomic medicine hub hospital'],
    FACILITY_DESIGNATION_GENOMIC_COOPERATIVE: ['がんゲノム医療連携病院', 'Cancer genomic medicine cooperative hospital'],
    FACILITY_DESIGNATION_RARE_CANCER_CORE_CENTER: ['希少がん中核拠点', 'Rare-cancer core center'],
  };
  const regions = {
    Hokkaido: '北海道', Tohoku: '東北', Kanto: '関東', Chubu: '中部', Kinki: '近畿', Chugoku: '中国', Shikoku: '四国', 'Kyushu-Okinawa': '九州・沖縄',
  };
  let language = new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'ja';
  let lastAnswer = null;

  function organName(code) {
    const organ = organs.find((o) => o[0] === code);
    return organ ? organ[language === 'ja' ? 1 : 2] : code;
  }

  function applyLanguage() {
    const t = text[language];
    document.documentElement.lang = language;
    document.title = t.pageTitle;
    document.querySelectorAll('[data-i18n]').forEach((element) => { element.textContent = t[element.dataset.i18n]; });
    const button = $('language');
    button.textContent = t.language;
    button.lang = t.languageCode;
    button.setAttribute('aria-label', t.languageLabel);
    $('organ').querySelectorAll('option[value]:not([value=""])').forEach((option) => { option.textContent = organName(option.value); });
    $('region').querySelectorAll('option[value]:not([value=""])').forEach((option) => {
      option.textContent = language === 'ja' ? regions[option.value] || option.value : option.value;
    });
    if (lastAnswer) {
      render(lastAnswer);
    }
  }

  function tags(values) {
    const list = document.createElement('ul');
    list.className = 'tags';
    for (const value of values) {
      const item = document.createElement('li');
      item.textContent = value;
      list.appendChild(item);
    }
    return list;
  }

  function render(answer) {
    const t = text[language];
    const list = $('results');
    list.replaceChildren();
    const facilities = answer.facilities || [];
    $('summary').textContent = facilities.length === 0 ? t.none : t.found(facilities.length);
    for (const facility of facilities) {
      const item = document.createElement('li');
      item.dataset.facilityCode = facility.facilityCode;
      const name = document.createElement('h3');
      name.textContent = facility.nameJa;
      name.lang = 'ja';
      const place = document.createElement('p');
      place.className = 'place';
      place.textContent = `${facility.prefecture}（${language === 'ja' ? regions[facility.region] || facility.region : facility.region}）`;
      item.append(name, place);
      if (answer.withPrefecture) {
        const nearness = document.createElement('p');
        nearness.className = 'nearness';
        nearness.textContent = t.near[Math.min(facility.distance || 0, 4)];
        item.appendChild(nearness);
      }
      const designationList = (facility.designations || []).map((d) => (designations[d] || [d, d])[language === 'ja' ? 0 : 1]);
      const treated = (facility.organSpecialties || []).map(organName);
      for (const [label, values] of [[t.designations, designationList], [t.treats, treated]]) {
        if (values.length > 0) {
          const heading = document.createElement('p');
          heading.className = 'place';
          heading.textContent = label;
          item.append(heading, tags(values));
        }
      }
      const contact = document.createElement('p');
      if (facility.contactUrl && facility.contactUrl.startsWith('https://')) {
        const link = document.createElement('a');
        link.href = facility.contactUrl;
        link.rel = 'noopener noreferrer';
        link.textContent = `${t.contact}（${facility.nameJa}）`;
        contact.appendChild(link);
      } else {
        contact.textContent = t.noContact;
      }
      item.appendChild(contact);
      list.appendChild(item);
    }
  }

  async function search(event) {
    if (event) {
      event.preventDefault();
    }
    const query = new URLSearchParams();
    for (const [field, parameter] of [['organ', 'organSystem'], ['prefecture', 'prefecture'], ['region', 'region']]) {
      if ($(field).value) {
        query.set(parameter, $(field).value);
      }
    }
    const shown = new URLSearchParams(query);
    if (language === 'en') {
      shown.set('lang', 'en');
    }
    history.replaceState(null, '', `${location.pathname}?${shown}`);
    $('error').hidden = true;
    try {
      const response = await fetch(`/api/v1/public/facilities?${query}`, { credentials: 'omit' });
      if (!response.ok) {
        throw new Error(response.status === 429 ? text[language].busy : text[language].failed);
      }
      lastAnswer = { ...(await response.json()), withPrefecture: query.has('prefecture') };
      render(lastAnswer);
      if (event) {
        $('results-title').focus();
      }
    } catch (error) {
      $('error').textContent = error.message;
      $('error').hidden = false;
    }
  }

  function start() {
    const organ = $('organ');
    for (const [code] of organs) {
      const option = document.createElement('option');
      option.value = code;
      organ.appendChild(option);
    }
    const params = new URLSearchParams(location.search);
    for (const [field, parameter] of [['organ', 'organSystem'], ['prefecture', 'prefecture'], ['region', 'region']]) {
      if (params.has(parameter)) {
        $(field).value = params.get(parameter);
      }
    }
    applyLanguage();
    $('search').addEventListener('submit', search);
    $('language').addEventListener('click', () => {
      language = language === 'ja' ? 'en' : 'ja';
      const shown = new URLSearchParams(location.search);
      if (language === 'en') {
        shown.set('lang', 'en');
      } else {
        shown.delete('lang');
      }
      history.replaceState(null, '', `${location.pathname}?${shown}`);
      applyLanguage();
    });
    if (params.has('organSystem') || params.has('prefecture') || params.has('region')) {
      search();
    }
  }

  start();
})();
