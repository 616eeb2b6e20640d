"""The words that are not content: stop words, who-is-asking context, small talk.

Every phrasing and question loses these before matching, so a change here changes every
token: the lexical token cache and the remembered validated model both hash this file.
"""

from __future__ import annotations

STOP_WORDS: frozenset[str] = (
    frozenset(
        """
    a an the and or but if then so of to in on at by for from with about into as is are was were
    be been being am do does did done doing have has had having i me my we us our you your he him
    his she her it its they them their this that these those there here can could would should
    will shall may might must please tell know want wanna gonna like just really actually also
    very much many some any anything something anyone someone hey hi hello ok okay yes no not
    thanks thank pls plz u ur im id ive dont didnt does doesnt isnt wasnt werent hes
    its thats theres question guy guys man bot
    explain give show say said wonder wondering curious read reading heard hear learn
    lol tf wtf omg exactly basically thing things stuff kind sort quick everyone anybody
    everybody get got gets getting whatever true tbh imo idk btw ever anyone somebody heard
    saw seen told ask asked asking wanna gonna kinda sorta thx yo dude bro haha um uh hmm
    literally honestly seriously quickly briefly sure maybe probably anyway okay still tho though
    somewhere anywhere somehow keep see seeing seem seems look looking find come let put take
    turn think thought knew mention mentioned talk talking even lot lots bunch well way such else
    too again totally kinda someone grandad grandpa grandfather grandma grandmother granny gran
    nan uncle aunt friend friends buddy mate colleague colleagues coworker coworkers boss manager
    teacher teachers professor prof lecturer classmate classmates homework essay assignment exam
    quiz student students meeting lecture lesson class
    define describe discuss assess evaluate outline summarise summarize identify analyse analyze
    false correct incorrect check checking verify fact facts rundown til ngl smth nah ppl wut wait n deal
    paragraph paragraphs sentence sentences surely roughly approximately
    tomorrow tonight random dear kindly appreciate appreciated grateful trouble assistant precise
    precisely exact
    subject answer answers sheet trivia pub backstory mistaken unsure
    understood understand understanding everywhere
    regarding concerning phrase expression
    right wondered
    r rn bc cuz coz lemme gimme ya yall fr insists reckons
    fill blank blanks tl dr tldr caption slide slides summary liner
    eli5 simply plain overall
    """.split()
    )
    | frozenset(
        """
    и а но или в во на с со к ко о об от до по за из у же ли бы не ни что-то это этот эта эти
    тот та те то он она оно они его ее её их ему ей им мне меня мы нас вы вас ты тебя был была
    было были быть есть ли вот ну да нет пожалуйста скажи скажите расскажи расскажите подскажи
    подскажите знаешь знаете хочу хотел интересно привет вообще просто очень про шо чё че што слушай
    короче типа щас реально если там тут здесь именно точно ваще чо тока типо
    утверждает утверждал утверждала утверждают уверяет уверял настаивает прав права помню
    заполни пропуск пропуски пропуске слайд слайда слайде слайдов
    вашему чайник чайника чайников словами рассказать
    мой моя моё мое мои моего моей моим своя свой своего своей весь вся всего всей всем всех для
    этого этой этим тому того той тех ним нею ними него неё нее них нам вам им себе себя уже ещё
    еще тоже также только лишь даже говорит говорил говорила говорят сказал сказала сказали
    опишите охарактеризуйте объясните назовите перечислите оцените определите
    верно неверно правильно факт факты проверяю проверка фактчек разве неужели курсе простыми словами примерно приблизительно
    ведь кратко вкратце коротко предложении предложением абзаце абзацем ответьте ответь дай дайте готовлюсь готовлю
    слышал слышала слышали видел видела видели увидел
    увидела увидели упомянул упомянула упомянули упоминал упоминали упоминается слушал слушала слушали
    насчет касательно относительно вскользь мимоходом слово слова термин выражение фраза
    кажется вроде наверное возможно честно серьезно буквально действительно узнать узнал
    любопытно интересует покажи покажите найти кстати якобы помоему
    вопрос вопросы будьте любезны добры раскройте нашел нашла спасибо благодарю завтра дополните заполните
    вставьте спорим поспорили
    уважаемый уважаемая благодарен благодарна признателен трудно точная точную точный точной
    ваш ваша ваше ваши вашего вашей вашу вашим ваших твой твоя твое твои
    тема перечисли назови опиши объясни охарактеризуй ответ ответы ответах ошибаться уверен уверена
    интересовало интересовался понимал понимаю понять
    спрашивает спрашивал спрашивала спросил спросила спрашивают ответить объяснить сказать
    """.split()
    )
    | frozenset(
        """
    і й та а але або в у на з із зі до від по за про о об же ж чи би б не ні це цей ця ці той
    та те він вона воно вони його її їх йому їй їм мені мене ми нас ви вас ти тебе був була
    було були бути є ось ну так ні будь ласка скажи скажіть розкажи розкажіть підкажи
    підкажіть знаєш знаєте хочу цікаво привіт взагалі просто дуже слухай якщо
    мій моя моє мої мого моєї моїй моїм твій свій своя свого своєї весь вся всього всієї всім
    всіх для цього цієї цим цій тому того тієї тих ним нею ними нього неї них нам вам собі себе
    вже ще теж також тільки лише навіть типу коротше каже казав казала кажуть сказав сказала там тут
    саме точно тіпа
    стверджує стверджував стверджувала запевняє наполягає правий права памятаю
    заповни пропуск пропуски пропуску слайд слайда слайді слайдів
    оцінюєте простою мовою розповісти
    сказали говорить говорив говорила говорять
    опишіть охарактеризуйте поясніть назвіть перелічіть оцініть визначте
    вірно невірно правильно факт факти перевіряю перевірка фактчек хіба невже курсі простими простому приблизно
    коротко коротку стисло реченні реченнях реченням абзаці абзацом дай дайте відповідайте готуюсь готуюся готую
    чув чула чули бачив бачила бачили побачив побачила
    побачили згадав згадала згадали згадував згадували згадується слухав слухала слухали щодо стосовно
    побіжно мимохідь слово слова термін вираз фраза
    здається начебто нібито наче мабуть можливо напевно чесно серйозно справді дійсно дізнатися
    дізнався цікавить покажи покажіть знайти речі
    якби питання розкрийте знайшов знайшла дякую спасибі завтра доповніть заповніть вставте
    сперечаємося посперечалися
    шановний шановна шановні dear madam sir вдячний вдячна важко точна точну точний точної
    ваш ваша ваше ваші вашого вашої вашу вашим ваших твоя твоє твої
    тема перелічи опиши поясни охарактеризуй всі усі відповідь відповіді відповідях помилятися
    впевнений впевнена
    цікавило розумів розумію зрозуміти
    питає питав питала запитує запитав запитала спитав спитала відповісти пояснити сказати
    """.split()
    )
)

CONTEXT_WORDS: frozenset[str] = frozenset(
    """
    дед дедушка бабушка бабуля дядя тётя коллега начальник шеф учитель учительница преподаватель
    препод одноклассник реферат доклад сочинение домашка урок задание задали дід дідусь бабуся баба
    дядько тітка колега вчитель вчителька викладач однокласник доповідь твір завдання підручник
    викторина вікторина конспект экзамен экзамену екзамен екзамену іспит іспиту
    друзья подруга приятель сосед соседка друзі сусід сусідка тест
    квиз квіз
    """.split()
)
"""Russian and Ukrainian words for who is asking and why (family, school, work): dropped in
any inflection, as the English ones are stop words, so they neither attract nor penalise."""

ABOUT_THE_BOT: frozenset[str] = frozenset(
    "made created built wrote bot robot human person ai chatgpt gpt создал создали сделал "
    "сделали написал бот робот человек створив створили зробив зробили написав людина".split()
)
"""Words that make small talk a question about the bot itself ("who made you?")."""

SMALL_TALK: frozenset[str] = ABOUT_THE_BOT | frozenset(
    """
    hi hello hey hiya yo howdy greetings good morning afternoon evening day night how are you
    doing whats what up sup thanks thank thx ty bye goodbye cheers ok okay cool nice great
    привет здравствуйте здравствуй добрый доброе день утро вечер как дела спасибо пока ок
    хорошо отлично привіт вітаю доброго добрий ранок ранку вечора як справи дякую бувай
    до побачення чудово who are you can do help what кто ты умеешь помощь помоги хто ти вмієш
    допомога допоможи
    a or am i talking to real тебя это живой или с кем я говорю тебе це живий чи з ким розмовляю
    """.split()
)

QUESTION_WORDS: frozenset[str] = frozenset(
    """
    what who whom whose when where why how which
    что кто кого кому когда где почему зачем как какой какая какое какие каком сколько куда
    откуда чей чья какого какую каким каких
    що хто кого кому коли де чому навіщо як який яка яке які якому скільки куди звідки чий чия
    якого якої якій яку якими яких
    """.split()
)
"""Interrogatives: a question made only of these ("а где именно?") names no subject."""

SIGN_OFFS: tuple[str, ...] = tuple(
    (
        "best regards|kind regards|warm regards|regards|best wishes|best|cheers|many thanks|"
        "thanks in advance|thanks|thank you|sincerely|yours|с уважением|заранее спасибо|"
        "спасибо заранее|спасибо|благодарю|всего доброго|з повагою|заздалегідь дякую|"
        "наперед дякую|дякую|щиро ваш|щиро"
    ).split("|")
)
"""How a letter ends ("... held? Best regards, Anna"): with the name after it, not the question."""

SOURCE_NOUNS: frozenset[str] = frozenset(
    """
    source sources citation citations reference references источник источники источника пруф
    пруфы джерело джерела пруфи
    """.split()
)
SOURCE_SUBJECTS: frozenset[str] = frozenset(
    """
    info information data facts that this it these those данные информация инфа сведения факты
    это эти эта такие дані інформація відомості інфа факти це ці ця така
    """.split()
)
SOURCE_REQUEST_WORDS: frozenset[str] = (
    SOURCE_NOUNS
    | SOURCE_SUBJECTS
    | frozenset("where from come comes came откуда звідки взял взяли взяв узяв".split())
)
"""A request for the source tacked onto a question ("..., and where is that from?", "...
откуда эти данные?", "... звідки ця інформація?", "... source?"): every answer cites its sources
already. "Откуда"/"звідки" alone are no such request ("стаханов родом звідки")."""
